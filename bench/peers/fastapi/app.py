"""bench/peers/fastapi/app.py: the FastAPI peer of moontide's benchmarks.

FastAPI 0.92 with pydantic 1.10 (Debian 12's versions: pydantic v1 syntax)
on uvicorn 0.17 with uvloop and httptools, as its users run it in
production: one worker process, no reload, access log off, log level
warning. `async def` handlers (no thread pool). HTTP/1.1 only (uvicorn has
no HTTP/2). Validation errors are FastAPI's own 422 responses.

Run with Debian's interpreter: /usr/bin/python3 app.py PORT
"""
import sys
from typing import List, Literal, Optional

import uvicorn
from fastapi import FastAPI, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

app = FastAPI(title="bench", version="1.0.0")


class Dims(BaseModel):
    w: float
    h: float


class Item(BaseModel):
    name: str = Field(..., min_length=1, max_length=100)
    price: float = Field(..., gt=0)
    tags: Optional[List[str]] = Field(None, max_items=10)
    status: Literal["draft", "published"]
    dims: Optional[Dims] = None


# W1
@app.get("/hello")
async def hello():
    return {"message": "Hello, World!"}


# W2
@app.get("/items/{id}")
async def read_item(id: int, q: Optional[str] = Query(None, max_length=50)):
    return {"id": id, "q": q}


# W3
@app.post("/items")
async def create_item(item: Item):
    return item


# W4: n server-sent events, one chunk each
@app.get("/stream")
async def stream(n: int = Query(100, ge=0, le=100000)):
    async def events():
        for i in range(1, n + 1):
            yield f'data: {{"i":{i}}}\n\n'

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), workers=1,
                loop="uvloop", http="httptools", access_log=False,
                log_level="warning", server_header=False)
