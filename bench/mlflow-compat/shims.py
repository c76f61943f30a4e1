"""Environment shims so MLflow's source tree imports on Debian bookworm's python3 packages.

Each shim fills a gap between Debian's (older) package versions and what MLflow's
source expects. None of them changes MLflow's or dawn's behaviour on the wire;
docs/mlflow-compat.md lists every one. Import this module before mlflow.
"""

import cachetools
import cachetools.func

# cachetools 5.2 (Debian) lacks cachetools.func.cached; MLflow's trace utils import it.
if not hasattr(cachetools.func, "cached"):
    cachetools.func.cached = cachetools.cached

import pydantic

# Debian ships pydantic 1.10; MLflow 3.x declares pydantic>=2 but only its chat/agent/
# responses types (mlflow.types.*) use v2-only names at import time. Those types play no
# part in tracking or the registry, so their v2 validators become no-ops here.
if not hasattr(pydantic, "model_validator"):

    def _noop_decorator_factory(*_args, **_kwargs):
        def deco(fn):
            return fn

        return deco

    pydantic.model_validator = _noop_decorator_factory
    pydantic.field_validator = _noop_decorator_factory
    pydantic.ConfigDict = dict

    # pydantic v2 spells list-length constraints min_length/max_length; v1 rejects them on
    # list fields at class creation ("constraints are set but not enforced"). Let them pass
    # unenforced (again only mlflow.types chat/agent models are affected).
    import pydantic.schema

    _orig_get_annotation = pydantic.schema.get_annotation_from_field_info

    def _lenient_get_annotation(annotation, field_info, field_name, validate_assignment=False):
        try:
            return _orig_get_annotation(annotation, field_info, field_name, validate_assignment)
        except ValueError:
            return annotation

    pydantic.schema.get_annotation_from_field_info = _lenient_get_annotation

    # mlflow.types.responses derives a schema from a pydantic model at import time through
    # the v2 API Model.model_fields[name].annotation / .is_required(). Offer that view of
    # v1's __fields__.
    class _V2FieldView:
        def __init__(self, f):
            self.annotation = f.annotation
            self._required = bool(f.required)

        def is_required(self):
            return self._required

    class _ModelFieldsProp:
        def __get__(self, obj, cls):
            cls = cls or type(obj)
            # a v2 "model_config = ConfigDict(...)" line became a plain v1 field; hide it
            return {
                n: _V2FieldView(f) for n, f in cls.__fields__.items() if n != "model_config"
            }

    type.__setattr__(pydantic.BaseModel, "model_fields", _ModelFieldsProp())

# urllib3: Debian has 1.26, whose Retry takes no backoff_max keyword; MLflow's webhook
# delivery (mlflow/webhooks/delivery.py) passes one and, without this, MLflow's own server
# fails every delivery here. 1.26 reads the cap from the instance's BACKOFF_MAX attribute.
import inspect as _inspect

import urllib3.util.retry as _retry

if "backoff_max" not in _inspect.signature(_retry.Retry.__init__).parameters:
    _orig_retry_init = _retry.Retry.__init__

    def _retry_init(self, *args, backoff_max=None, **kwargs):
        _orig_retry_init(self, *args, **kwargs)
        if backoff_max is not None:
            self.BACKOFF_MAX = backoff_max

    _retry.Retry.__init__ = _retry_init
