"""The monitoring screen: server-rendered pages, plain JS and CSS served by the app (no CDN, no build step)."""
