"""Shared pytest setup: eventlet's monkey patch must precede every other import."""

import eventlet

eventlet.monkey_patch()
