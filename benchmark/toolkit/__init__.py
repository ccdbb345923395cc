"""What methods share: judge prompts and parsing (`judging`), verdicts from rewards (`verdicts`), what a method
may tell a model about a user (`user_context`) and reward-model training (`reward_training`). Methods import it;
the runner never does (it asks a method through `Method` hooks)."""
