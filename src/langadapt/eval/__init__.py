"""Evaluation: bits per character, generation tasks, multiple choice, LLM judge, side-by-side reports.

    langadapt eval --model smollm2-135m-instruct --tasks udhr-bpc
"""
