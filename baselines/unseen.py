"""Users never seen in training: a seeded set of users kept out of a method's global training (`setup`),
whose own train+val pairs are used only to adapt to them (`fit`), as in GPO's and PAL's unseen-user
experiments (GPO: jamqd/Group-Preference-Optimization `train_gpo.py`, `--group_split`, meta-training on a
share of the groups and evaluating on the others; PAL: RamyaLab/pluralistic-alignment
`main_pal_b_unseen.py`, the trained model frozen and only the new users' weights fitted).

Every method that trains across users (`reward_model*`, `bt_reward_model*`, `vpl`, `pal`, `gpo`) takes
`method.params.unseen_fraction` (0: every user is seen, the default) and `method.params.unseen_seed`. The
held-out users are the same for every method and training seed given the data and these two values (a
sha256 ranking of the user ids, not a draw from the training seed), so runs of different methods and seeds
compare on the same unseen users.

Reporting: the runner still judges every user's test pairs. The shared state (`fit/_shared.json`) lists the
held-out users (`unseen_users`) and each user's fit state says `seen_in_training`; the run's own
`summary.json` mixes both kinds of user, so results on unseen users are read with
`python scripts/seed_spread.py RUN... --users unseen` (only the held-out users, paired over the same users).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import Field

from benchmark.config import Section
from benchmark.methods import UserData


class HeldOutUsers(Section):
    """Params fields shared by the methods that train across users."""

    unseen_fraction: float = Field(0.0, ge=0, lt=1, description="share of users kept out of global training")
    unseen_seed: int = Field(0, description="which users are kept out (independent of the training seed)")


def unseen_user_ids(user_ids: Sequence[str], fraction: float, seed: int) -> list[str]:
    """round(fraction · n) users, ranked by sha256(seed:user id): the same users whatever their order."""
    count = round(fraction * len(user_ids))
    ranked = sorted(user_ids, key=lambda u: hashlib.sha256(f"{seed}:{u}".encode()).hexdigest())
    return sorted(ranked[:count])


def split_training_users(users: Sequence[UserData], params: HeldOutUsers) -> tuple[list[UserData], list[str]]:
    """(the users global training may see, the ids of those it must not)."""
    unseen = set(unseen_user_ids([u.user_id for u in users], params.unseen_fraction, params.unseen_seed))
    return [u for u in users if u.user_id not in unseen], sorted(unseen)
