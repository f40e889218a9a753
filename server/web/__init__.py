"""The monitoring screen: server-rendered pages, plain JS and CSS from the app (no CDN, no build step)."""
