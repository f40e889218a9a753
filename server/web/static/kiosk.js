// carewatch screen on a wall display (/?kiosk=1): keep the screen awake, hide an idle cursor, show the time.
// Plain JS, no build step. Nothing here is essential: a browser without the Wake Lock API still shows alerts.
"use strict";

(function () {
  if (!document.body.classList.contains("kiosk")) return;
  document.documentElement.classList.add("kiosk"); // for browsers whose CSS has no :has()
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const IDLE_MS = 3000; // a cursor parked over an alert hides its words from across the room
  let idle = null;

  // The lock is dropped whenever the page is hidden; ask again each time it is visible.
  async function keepAwake() {
    try {
      const lock = await navigator.wakeLock.request("screen");
      document.body.dataset.wakeLock = "on";
      lock.addEventListener("release", () => (document.body.dataset.wakeLock = "released"));
    } catch (e) {
      document.body.dataset.wakeLock = "unavailable"; // no API, not a secure context, or refused: ignore
    }
  }

  function active() {
    document.body.classList.remove("cursor-hidden");
    clearTimeout(idle);
    idle = setTimeout(() => document.body.classList.add("cursor-hidden"), IDLE_MS);
  }

  // The site's time: a clock that moves also tells the room that the screen is alive.
  function tick() {
    const clock = document.getElementById("clock");
    const at = new Date();
    clock.dateTime = at.toISOString();
    try {
      clock.textContent = at.toLocaleTimeString(cfg.lang, { timeZone: cfg.tz, hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      clock.textContent = at.toLocaleTimeString();
    }
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") keepAwake();
  });
  ["mousemove", "pointerdown", "keydown"].forEach((type) => document.addEventListener(type, active));
  keepAwake();
  active();
  tick();
  setInterval(tick, 1000);
})();
