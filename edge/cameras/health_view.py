"""Whether a camera still looks where it looked when it learned its view: ORB features against a reference.

A person walking through hides some of the reference's features but leaves the rest where they were, so the
view is judged by the features that do match: those that agree on one homography must have moved less than a
few percent of the picture's width. A turned camera either matches with a large shift or, turned far, hardly
matches at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MIN_INLIERS = 8  # fewer matching features than this and no homography is trusted


@dataclass(frozen=True)
class ViewMatch:
    """How the current picture matches the reference: `score` = share of reference features found in place."""

    score: float
    shift: float | None  # how far the homography moves the picture, in picture widths (None: no homography)


class ViewReference:
    """The ORB features of a reference picture, and the comparison of later pictures with it."""

    def __init__(self, gray: np.ndarray, *, features: int, ratio: float) -> None:
        self.ratio = ratio  # Lowe's ratio test: keep a match only if clearly better than the second best
        # Few pyramid levels and small patches: a fixed camera needs no scale invariance, and 320 x 180 is small.
        self._orb = cv2.ORB_create(nfeatures=features, scaleFactor=1.3, nlevels=3, edgeThreshold=15,
                                   patchSize=15, fastThreshold=8)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        keypoints, self._descriptors = self._orb.detectAndCompute(gray, None)
        self._points = np.float32([k.pt for k in keypoints]).reshape(-1, 2)
        self._size = gray.shape[1::-1]

    @property
    def features(self) -> int:
        """How many features the reference has (a bare wall has few: its view cannot be judged)."""
        return len(self._points)

    def compare(self, gray: np.ndarray) -> ViewMatch:
        """How `gray` (same size as the reference) matches the reference picture."""
        keypoints, descriptors = self._orb.detectAndCompute(gray, None)
        if descriptors is None or self._descriptors is None or len(keypoints) < 2 or self.features < MIN_INLIERS:
            return ViewMatch(score=0.0, shift=None)
        pairs = self._matcher.knnMatch(self._descriptors, descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < self.ratio * p[1].distance]
        if len(good) < MIN_INLIERS:
            return ViewMatch(score=0.0, shift=None)
        src = self._points[[m.queryIdx for m in good]].reshape(-1, 1, 2)
        dst = np.float32([keypoints[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        # RANSAC in OpenCV seeds its own generator per call: the same frames give the same answer.
        homography, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
        if homography is None or int(inliers.sum()) < MIN_INLIERS:
            return ViewMatch(score=0.0, shift=None)
        kept = inliers.ravel().astype(bool)
        # The median displacement of the features that agree, not the homography's corners: features bunched
        # on one side of the picture would let a tiny error of the homography throw the far corners about.
        shift = float(np.median(np.linalg.norm((dst - src).reshape(-1, 2)[kept], axis=1))) / self._size[0]
        return ViewMatch(score=int(kept.sum()) / self.features, shift=shift)
