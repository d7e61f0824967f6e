"""The base of the domain's values: frozen pydantic models that ignore unknown fields (a
value stored by a newer scanbot still reads)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
