"""Build PersonalRewardBench-style benchmarks from the raw Chatbot Arena and PRISM releases."""
