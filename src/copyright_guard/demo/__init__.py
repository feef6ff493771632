"""The bundled demo: a multi-origin loopback HTTP server (server.py) and the demo site (site.py).

server.py is also what the integration tests serve their origins with.
"""
