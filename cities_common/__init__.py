"""Contracts and dependency providers shared by every Cities of Learning service.

This package imports no service, and no service imports another: services meet only
through the event contracts and RPC calls defined here.
"""
