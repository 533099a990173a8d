"""Server-rendered web app for inspectors (Chinese): inspect, print, register, statistics, law."""
