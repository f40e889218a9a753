"""Logins: users with roles, argon2 password hashes, signed expiring tokens (bearer header or cookie)."""
