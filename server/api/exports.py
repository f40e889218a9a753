"""Exports API (being built)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/records", tags=["records"])
