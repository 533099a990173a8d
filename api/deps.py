from fastapi import Request

from hazard_kb.engine.service import Engine


def get_engine(request: Request) -> Engine:
    return request.app.state.engine
