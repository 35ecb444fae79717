"""websockets' ``sync`` API on balrog: blocking in threads, green in ASGI servers."""
