"""Responders turn a question and retrieved passages into a Reply.

`grounded` (default) composes answers from the article's own sentences and
needs no LLM; `llm` speaks through a LangChain chat model behind the grounding
guard and falls back to `grounded` whenever the model fails.
"""
