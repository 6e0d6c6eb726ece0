"""The Qt-free heart of visionapp: types, sources, the processor registry, the pipeline, drawing."""
