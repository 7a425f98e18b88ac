"""The one data converter shared by the worker, the API, the CLI and the tests.

Pydantic models (and `datetime.date`) cross Temporal as JSON through the pydantic converter. The
confidentiality work wraps this with an encryption codec, keeping everything else the same:
`dataclasses.replace(pydantic_data_converter, payload_codec=...)`.
"""

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

data_converter: DataConverter = pydantic_data_converter
