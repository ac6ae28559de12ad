"""Article tutor: a citation-grounded, Socratic tutor over articles.

Layers (each imports only the ones below it):

    cli                      commands; typed errors become one-line messages
    web, evals               Gradio app + feedback store | eval runner, metrics, report
    session                  modes, history, quiz progress; shared by CLI and web
    responders, questions    grounded / llm responders | question banks, assessment
    retrieve, support        hybrid retriever | sentence-level support scorer
    index                    embedder + Chroma + BM25, content hashes, atomic swap
    corpus, chunking, prompts  load + clean | chunk with offsets | prompt files
    config, errors, text     settings | typed exceptions | sentences, tokens, stems
"""

__version__ = "0.1.0"
