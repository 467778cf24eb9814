"""The seed's data, generated with numpy: every row as arrays (ids from 1, in time order), counters included.

Shapes (heavy-tailed, like real traffic):
- follower counts follow a Zipf-like law: a few accounts have most followers (tens of thousands at
  the standard size), most have a handful; how many accounts a user follows is log-normal. The
  account ``demo`` follows 2,000 accounts at the standard size (the benchmark's heavy feed);
- posts: authors weighted by activity, over the last year with more recent activity, bodies from a
  vocabulary with hashtags (Zipf-distributed tags) and @mentions (of popular accounts, mostly);
- likes, comments (a third of them replies, some replies to replies), shares and bookmarks land on
  posts weighted by the author's popularity, recency and luck, so recent and popular posts get most;
  views the same way.

Counters are computed from the same arrays the rows come from, so they equal the rows.
Every seeded account's password is :data:`PASSWORD` (``demo`` included).
"""

from __future__ import annotations

import time

import numpy as np

from .progress import Stages

DEMO_USERNAME = "demo"
PASSWORD = "demo-password-123"

SIZES = {
    "demo": dict(users=300, posts=3_000, follows=4_000, likes=20_000, comments=4_000, shares=400,
                 bookmarks=1_000, views=200_000, demo_follows=60),
    "standard": dict(users=20_000, posts=1_000_000, follows=500_000, likes=5_000_000, comments=1_000_000,
                     shares=100_000, bookmarks=200_000, views=50_000_000, demo_follows=2_000),
}

WORDS = (
    "the a this that my your our new old good great bad big small first last best long short real "
    "today tomorrow yesterday morning evening night week weekend year time day life work home city "
    "coffee tea music song album concert movie film book story game team match goal win lose play "
    "code bug release deploy server database query index cache feature design idea plan project "
    "photo picture trip travel beach mountain river park garden dog cat friend family people world "
    "love like enjoy think know feel want need try make build ship learn read write watch listen "
    "run walk cook eat drink sleep wait start finish share post follow talk ask answer help open "
    "really very so just still never always maybe finally almost again already soon here there "
    "happy tired excited amazing beautiful funny weird strange simple hard easy fast slow quiet loud "
    "and but or because when while after before with without about for from into over under"
).split()
TAGS = (
    "python django postgres graphql rust golang javascript typescript react linux opensource devops "
    "ai ml data cloud security webdev mobile design ux startup product music jazz rock hiphop "
    "photography travel food coffee books movies gaming football basketball tennis running cycling "
    "fitness health science space climate news politics economy art history nature cats dogs "
    "weekend monday mood tbt nofilter sunset summer winter spring autumn holiday family friends "
    "learning career remote wfh meetup conference release bugfix testing performance database"
).split()
FIRST_NAMES = (
    "alex sam jordan taylor morgan casey riley jamie avery quinn robin charlie drew emery finley "
    "harper hayden jesse kai logan parker reese rowan sage skyler blake cameron dakota elliot frankie "
    "noa lena omar yuki ines marta pavel sofia mateo lucia nina ivan zoe leo mila hugo anna theo"
).split()
LAST_NAMES = (
    "smith lee garcia kim nguyen silva rossi muller martin brown jones novak costa sato tanaka "
    "ivanova lopez perez khan ali wilson clark lewis walker young king wright scott green baker"
).split()

SECONDS_PER_DAY = 86_400
US = 1_000_000


class Generator:
    """Builds every row as numpy arrays (ids from 1, in time order), counters included."""

    def __init__(self, params: dict, seed: int, stages: Stages):
        self.p = params
        self.rng = np.random.default_rng(seed)
        self.stages = stages
        self.now_us = int(time.time() * US)

    def later(self, since_us: np.ndarray, scale_days: float) -> np.ndarray:
        """Times after ``since_us`` and before now: an exponential delay (mean about ``scale_days``)
        truncated at now, so nothing piles up at the present."""
        scale = scale_days * SECONDS_PER_DAY * US
        room = np.maximum(self.now_us - 1 - since_us, 1).astype(np.float64)
        u = self.rng.random(len(since_us))
        delay = -scale * np.log1p(-u * -np.expm1(-room / scale))
        return since_us + np.clip(delay.astype(np.int64), 1, room.astype(np.int64))

    def pairs(self, n: int, left_p: np.ndarray, right_p: np.ndarray, *, exclude_same=True,
              existing: np.ndarray | None = None, right_size: int | None = None):
        """``n`` distinct (left, right) index pairs drawn with the given weights."""
        rng = self.rng
        right_size = right_size or len(right_p)
        keys = existing if existing is not None else np.empty(0, dtype=np.int64)
        start = len(keys)
        wanted = start + n
        capacity = len(left_p) * right_size - (len(left_p) if exclude_same else 0)
        wanted = min(wanted, capacity)
        draws = 0
        while len(keys) < wanted and draws < 50:
            need = int((wanted - len(keys)) * 1.3) + 16
            left = rng.choice(len(left_p), size=need, p=left_p)
            right = rng.choice(len(right_p), size=need, p=right_p)
            if exclude_same:
                keep = left != right
                left, right = left[keep], right[keep]
            new = left.astype(np.int64) * right_size + right
            keys = np.concatenate([keys, new])
            _, first = np.unique(keys, return_index=True)
            keys = keys[np.sort(first)]
            draws += 1
            if draws > 5:  # saturated popular targets: flatten the weights a little
                right_p = np.sqrt(right_p)
                right_p /= right_p.sum()
        keys = keys[start:wanted]
        return keys // right_size, keys % right_size

    def generate(self) -> dict:
        with self.stages("generate", total=7, unit="steps") as bar:
            return self._generate(bar)

    def _generate(self, bar) -> dict:
        rng, p = self.rng, self.p
        data: dict = {}

        # --- users: popularity (followers, attention) and activity (posting, following, liking)
        n_users = p["users"]
        rank = rng.permutation(n_users) + 1
        popularity = 1.0 / rank ** 1.05
        popularity /= popularity.sum()
        activity = rng.lognormal(0.0, 1.0, n_users)
        activity /= activity.sum()
        joined = self.now_us - ((400 + rng.random(n_users) * 365) * SECONDS_PER_DAY * US).astype(np.int64)
        usernames = np.array(
            [DEMO_USERNAME] + [
                f"{FIRST_NAMES[i % len(FIRST_NAMES)]}_{LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]}{i}"
                for i in range(1, n_users)
            ]
        )
        display = np.array(["Demo User"] + [
            f"{FIRST_NAMES[i % len(FIRST_NAMES)].title()} {LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)].title()}"
            for i in range(1, n_users)
        ])
        bar.update()

        # --- follows: demo follows `demo_follows` accounts by popularity; the rest by activity x popularity
        demo_n = min(p["demo_follows"], n_users - 1, p["follows"])
        others_p = popularity[1:] / popularity[1:].sum()
        demo_followees = rng.choice(n_users - 1, size=demo_n, replace=False, p=others_p) + 1
        existing = demo_followees.astype(np.int64)  # keys 0 * n + followee
        follower_p = activity.copy()
        follower_p[0] = 0
        follower_p /= follower_p.sum()
        follower, followee = self.pairs(p["follows"] - demo_n, follower_p, popularity, existing=existing)
        follower = np.concatenate([np.zeros(demo_n, dtype=np.int64), follower])
        followee = np.concatenate([demo_followees, followee])
        since = np.maximum(joined[follower], joined[followee])
        follow_at = since + (rng.random(len(follower)) * (self.now_us - since)).astype(np.int64)
        order = np.argsort(follow_at, kind="stable")
        data["follows"] = dict(id=np.arange(1, len(order) + 1), follower=follower[order] + 1,
                               followee=followee[order] + 1, created_at=follow_at[order])
        data["demo_follows"] = demo_n
        bar.update()

        # --- posts: by activity (popular accounts post a bit more), recent-heavy over the last year
        n_posts = p["posts"]
        author_p = activity * (1 + 50 * popularity)
        author_p /= author_p.sum()
        author = rng.choice(n_users, size=n_posts, p=author_p)
        # Age in days: 40% spread over the year, 60% exponential with a 30-day mean (activity grows).
        age_days = np.where(rng.random(n_posts) < 0.4, rng.random(n_posts) * 365,
                            np.minimum(rng.exponential(30, n_posts), 365))
        created = np.sort(self.now_us - (age_days * SECONDS_PER_DAY * US).astype(np.int64) - US)  # ids in time order
        n_tags = rng.choice(4, size=n_posts, p=[0.5, 0.28, 0.15, 0.07])
        tag_rank = 1.0 / np.arange(1, len(TAGS) + 1) ** 1.1
        tag_rank /= tag_rank.sum()
        tag_draws = rng.choice(len(TAGS), size=(n_posts, 3), p=tag_rank)
        n_mentions = rng.choice(3, size=n_posts, p=[0.85, 0.12, 0.03])
        mention_draws = rng.choice(n_users, size=(n_posts, 2), p=popularity)
        sentences = self._sentences(4000)
        sentence_draws = rng.integers(0, len(sentences), size=(n_posts, 2))
        two_sentences = rng.random(n_posts) < 0.4
        bodies, hashtags, tag_rows_post, tag_rows_tag = [], [], [], []
        mention_post, mention_user = [], []
        for i in range(n_posts):
            text = sentences[sentence_draws[i, 0]]
            if two_sentences[i]:
                text += " " + sentences[sentence_draws[i, 1]]
            tags = []
            for t in tag_draws[i, : n_tags[i]]:
                tag = TAGS[t]
                if tag not in tags:
                    tags.append(tag)
            users = []
            for u in mention_draws[i, : n_mentions[i]]:
                if u not in users and u != author[i]:
                    users.append(u)
            if users:
                text = " ".join("@" + usernames[u] for u in users) + " " + text
            if tags:
                text += " " + " ".join("#" + t for t in tags)
                for tag in tags:
                    tag_rows_post.append(i)
                    tag_rows_tag.append(tag)
            for u in users:
                mention_post.append(i)
                mention_user.append(u)
            bodies.append(text)
            hashtags.append("{" + ",".join(tags) + "}")
        bar.update()

        # --- interaction weights: popular authors, recent posts and luck
        age_days = (self.now_us - created) / (SECONDS_PER_DAY * US)
        weight = (popularity[author] * n_users) ** 0.8 * (np.exp(-age_days / 20) + 0.03) * rng.lognormal(0, 1, n_posts)
        weight /= weight.sum()
        liker_p = activity

        def after_post(post_idx, scale_days):
            return self.later(created[post_idx], scale_days)

        def relation(n, scale_days):
            users, posts = self.pairs(n, liker_p, weight, exclude_same=False)
            at = after_post(posts, scale_days)
            order = np.argsort(at, kind="stable")
            return users[order], posts[order], at[order]

        like_user, like_post, like_at = relation(p["likes"], 1.0)
        data["likes"] = dict(id=np.arange(1, len(like_user) + 1), user=like_user + 1, post=like_post + 1,
                             created_at=like_at)
        bar.update()

        share_user, share_post, share_at = relation(p["shares"], 2.0)
        share_comment = np.where(rng.random(len(share_user)) < 0.3,
                                 np.array(sentences, dtype=object)[rng.integers(0, len(sentences), len(share_user))], "")
        data["shares"] = dict(id=np.arange(1, len(share_user) + 1), user=share_user + 1, post=share_post + 1,
                              created_at=share_at, comment=share_comment)
        bm_user, bm_post, bm_at = relation(p["bookmarks"], 3.0)
        data["bookmarks"] = dict(id=np.arange(1, len(bm_user) + 1), user=bm_user + 1, post=bm_post + 1,
                                 created_at=bm_at)
        bar.update()

        # --- comments: 2/3 top-level on weighted posts, then replies to them, then replies to replies
        n_comments = p["comments"]
        n_top = n_comments - n_comments // 3 if n_posts else 0
        n_reply1 = (n_comments - n_top) * 2 // 3 if n_top else 0
        n_reply2 = n_comments - n_top - n_reply1 if n_top else 0
        c_post = rng.choice(n_posts, size=n_top, p=weight) if n_top else np.empty(0, dtype=np.int64)
        c_at = after_post(c_post, 1.0) if n_top else np.empty(0, dtype=np.int64)
        c_parent = np.full(n_top, -1, dtype=np.int64)
        for depth, count in ((1, n_reply1), (2, n_reply2)):
            if count == 0:
                continue
            # Replies to comments drawn uniformly, so busy posts get most: first to top-level comments,
            # then to those replies.
            pool = np.arange(n_top) if depth == 1 else np.arange(n_top, len(c_post))
            parent = rng.choice(pool, size=count)
            c_post = np.concatenate([c_post, c_post[parent]])
            c_at = np.concatenate([c_at, self.later(c_at[parent], 0.2)])
            c_parent = np.concatenate([c_parent, parent])
        c_author = rng.choice(n_users, size=len(c_post), p=liker_p)
        order = np.argsort(c_at, kind="stable")
        new_index = np.empty_like(order)
        new_index[order] = np.arange(len(order))
        parent_sorted = c_parent[order]
        parent_id = np.where(parent_sorted >= 0, new_index[np.maximum(parent_sorted, 0)] + 1, 0)
        comment_bodies = np.array(sentences, dtype=object)[rng.integers(0, len(sentences), len(c_post))]
        reply_count = np.bincount(parent_id[parent_id > 0] - 1, minlength=len(c_post))
        data["comments"] = dict(id=np.arange(1, len(c_post) + 1), post=c_post[order] + 1,
                                author=c_author[order] + 1, parent=parent_id, created_at=c_at[order],
                                body=comment_bodies, reply_count=reply_count)
        bar.update()

        # --- counters, from the same arrays the rows come from
        like_count = np.bincount(like_post, minlength=n_posts)
        comment_count = np.bincount(c_post, minlength=n_posts)
        share_count = np.bincount(share_post, minlength=n_posts)
        views = rng.multinomial(p["views"], weight) if n_posts and p["views"] else np.zeros(n_posts, dtype=np.int64)
        view_count = views + like_count + comment_count + share_count
        data["posts"] = dict(id=np.arange(1, n_posts + 1), author=author + 1, body=bodies, created_at=created,
                             hashtags=hashtags, like_count=like_count, comment_count=comment_count,
                             share_count=share_count, view_count=view_count)
        data["hashtags"] = dict(id=np.arange(1, len(tag_rows_post) + 1), post=np.array(tag_rows_post, dtype=np.int64) + 1,
                                tag=tag_rows_tag, created_at=created[np.array(tag_rows_post, dtype=np.int64)])
        data["mentions"] = dict(id=np.arange(1, len(mention_post) + 1), post=np.array(mention_post, dtype=np.int64) + 1,
                                user=np.array(mention_user, dtype=np.int64) + 1)
        data["users"] = dict(
            id=np.arange(1, n_users + 1), username=usernames, display_name=display, date_joined=joined,
            follower_count=np.bincount(data["follows"]["followee"] - 1, minlength=n_users),
            following_count=np.bincount(data["follows"]["follower"] - 1, minlength=n_users),
            post_count=np.bincount(author, minlength=n_users),
        )
        bar.update()
        return data

    def _sentences(self, count: int) -> list[str]:
        rng = self.rng
        lengths = rng.integers(5, 18, count)
        words = rng.integers(0, len(WORDS), (count, 18))
        out = []
        for i in range(count):
            sentence = " ".join(WORDS[w] for w in words[i, : lengths[i]])
            out.append(sentence[0].upper() + sentence[1:] + rng.choice([".", "!", "?", "...", " :)"]))
        return out

