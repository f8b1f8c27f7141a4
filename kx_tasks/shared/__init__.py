"""The shared science layer: code used by several tasks — the dataset catalogue (data: fetch, formats, catalogue),
linear algebra (linalg), clustering metrics (clustering), figures (plotting) and small network blocks (nets).
It imports only kx_tasks.core.io from the pipeline layer and never a task."""
