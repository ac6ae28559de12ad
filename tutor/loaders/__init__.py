"""One loader per file format, each turning a file's text (or bytes) into a
`blocks.Parsed`: ordered (level, text) blocks, a title and metadata.

`tutor.corpus` is the public face (`load_document`, `Document`); import from
there. Modules: `files` (walking, size limit, decoding), `blocks` (shared line
rules), `html`, `markdown`, `text`, `pdf`.
"""
