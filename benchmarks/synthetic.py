"""A deterministic synthetic corpus for ingest throughput: varied English
paragraphs of realistic length (60-120 words) in several Markdown files with
headings.

Each file has its own topic vocabulary; sentences come from a few dozen
templates filled from that vocabulary with a seeded `random.Random`, so the same
seed always writes byte-identical files. The text is not meant to be true, only
to look and tokenize like ordinary prose (about 1.3 tokens per word).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

MIN_WORDS, MAX_WORDS = 60, 120


@dataclass(frozen=True)
class Topic:
    title: str
    nouns: tuple[str, ...]  # plural nouns
    things: tuple[str, ...]  # singular nouns
    verbs: tuple[str, ...]  # regular verbs, base form
    adjectives: tuple[str, ...]
    people: tuple[str, ...]  # roles, plural


TOPICS = (
    Topic(
        "Notes on Urban Gardening",
        ("tomatoes", "raised beds", "seedlings", "compost heaps", "balconies", "earthworms", "rooftops", "herbs", "watering cans", "trellises", "aphids", "pollinators"),
        ("soil", "harvest", "season", "plot", "mulch layer", "drip line", "shade cloth", "seed tray"),
        ("water", "prune", "shelter", "cover", "protect", "plant", "harvest", "attract", "improve", "rotate"),
        ("sunny", "fertile", "shallow", "crowded", "organic", "sheltered", "dry", "compact"),
        ("gardeners", "neighbours", "volunteers", "beginners", "allotment holders"),
    ),
    Topic(
        "A Short Guide to Amateur Astronomy",
        ("telescopes", "galaxies", "nebulae", "eyepieces", "star charts", "planets", "meteors", "binoculars", "filters", "clusters", "comets", "mounts"),
        ("sky", "horizon", "moon", "focal length", "aperture", "night", "observatory", "light curve"),
        ("observe", "track", "align", "record", "compare", "focus", "locate", "measure", "photograph", "catalogue"),
        ("faint", "distant", "bright", "clear", "dark", "stable", "portable", "narrow"),
        ("observers", "astronomers", "club members", "students", "hobbyists"),
    ),
    Topic(
        "Cooking Through the Seasons",
        ("onions", "broths", "spices", "pans", "sauces", "vegetables", "loaves", "recipes", "knives", "ovens", "lentils", "dumplings"),
        ("kitchen", "stock", "dough", "menu", "pantry", "flavour", "crust", "marinade"),
        ("simmer", "season", "roast", "toast", "chop", "prepare", "taste", "stir", "balance", "reduce"),
        ("fresh", "crisp", "rich", "tender", "smoky", "sour", "hearty", "delicate"),
        ("cooks", "chefs", "home bakers", "families", "guests"),
    ),
    Topic(
        "Designing Cities for People",
        ("streets", "parks", "bus lanes", "crossings", "districts", "cyclists", "squares", "tram lines", "blocks", "markets", "bridges", "councils"),
        ("neighbourhood", "zoning plan", "pavement", "budget", "transit network", "public space", "traffic", "skyline"),
        ("connect", "design", "widen", "fund", "restore", "plan", "serve", "calm", "shape", "support"),
        ("walkable", "dense", "green", "busy", "affordable", "quiet", "historic", "mixed"),
        ("planners", "residents", "engineers", "commuters", "shopkeepers"),
    ),
    Topic(
        "Life in the Tidal Zone",
        ("crabs", "barnacles", "mussels", "seaweeds", "rock pools", "anemones", "gulls", "tides", "currents", "larvae", "limpets", "estuaries"),
        ("shore", "reef", "ecosystem", "food web", "coastline", "salinity", "sandbank", "lagoon"),
        ("shelter", "feed", "migrate", "attach", "filter", "survive", "expose", "colonise", "recover", "cover"),
        ("salty", "rocky", "shallow", "exposed", "muddy", "fragile", "coastal", "seasonal"),
        ("biologists", "divers", "fishermen", "researchers", "visitors"),
    ),
    Topic(
        "Habits of Reliable Software Teams",
        ("tests", "releases", "code reviews", "deployments", "services", "bugs", "branches", "dashboards", "incidents", "libraries", "interfaces", "pipelines"),
        ("codebase", "build", "rollback", "backlog", "design document", "on-call rota", "schema", "feature flag"),
        ("review", "deploy", "refactor", "monitor", "document", "automate", "release", "debug", "measure", "simplify"),
        ("stable", "flaky", "legacy", "modular", "slow", "critical", "small", "careful"),
        ("developers", "reviewers", "operators", "product owners", "testers"),
    ),
    Topic(
        "How Printing Changed Europe",
        ("presses", "pamphlets", "printers", "scribes", "manuscripts", "typefaces", "guilds", "universities", "sermons", "maps", "readers", "booksellers"),
        ("workshop", "edition", "vernacular", "censor", "paper mill", "trade route", "library", "market"),
        ("print", "copy", "circulate", "translate", "publish", "collect", "reform", "question", "preserve", "distribute"),
        ("cheap", "religious", "scholarly", "local", "illustrated", "popular", "costly", "forbidden"),
        ("historians", "merchants", "monks", "scholars", "rulers"),
    ),
    Topic(
        "Listening to Music Theory",
        ("chords", "scales", "melodies", "rhythms", "cadences", "intervals", "harmonies", "choirs", "orchestras", "motifs", "keys", "tempos"),
        ("phrase", "bass line", "progression", "score", "tonic", "refrain", "bridge", "measure"),
        ("resolve", "repeat", "modulate", "harmonise", "accent", "phrase", "arrange", "compose", "perform", "sustain"),
        ("minor", "major", "dissonant", "gentle", "syncopated", "familiar", "dramatic", "layered"),
        ("composers", "listeners", "performers", "teachers", "conductors"),
    ),
    Topic(
        "Everyday Economics",
        ("prices", "wages", "markets", "savings", "loans", "taxes", "households", "firms", "exports", "rents", "shortages", "subsidies"),
        ("inflation", "budget", "interest rate", "supply chain", "demand curve", "currency", "recession", "contract"),
        ("raise", "lower", "borrow", "invest", "trade", "hire", "spend", "regulate", "forecast", "compete"),
        ("scarce", "volatile", "local", "rising", "fragile", "competitive", "regional", "steady"),
        ("economists", "consumers", "lenders", "regulators", "workers"),
    ),
    Topic(
        "Weather, Climate and the Seasons",
        ("clouds", "storms", "droughts", "glaciers", "winds", "rainfalls", "heatwaves", "forecasts", "oceans", "seasons", "floods", "pressure systems"),
        ("atmosphere", "jet stream", "monsoon", "climate model", "humidity", "frost", "coastline", "water cycle"),
        ("warm", "cool", "predict", "measure", "shift", "absorb", "release", "reflect", "track", "record"),
        ("humid", "arid", "polar", "tropical", "extreme", "mild", "sudden", "gradual"),
        ("meteorologists", "farmers", "pilots", "scientists", "forecasters"),
    ),
    Topic(
        "Caring for Patients",
        ("patients", "nurses", "symptoms", "vaccines", "clinics", "prescriptions", "wards", "diagnoses", "therapies", "records", "infections", "screenings"),
        ("treatment", "recovery", "dosage", "waiting list", "checkup", "pharmacy", "surgery", "referral"),
        ("treat", "examine", "monitor", "prescribe", "prevent", "support", "diagnose", "explain", "visit", "review"),
        ("chronic", "mild", "acute", "routine", "rural", "preventive", "careful", "elderly"),
        ("doctors", "carers", "pharmacists", "families", "health visitors"),
    ),
    Topic(
        "Reading Old Buildings",
        ("arches", "façades", "columns", "roofs", "windows", "staircases", "courtyards", "beams", "walls", "towers", "vaults", "doorways"),
        ("foundation", "floor plan", "timber frame", "cathedral", "restoration", "ornament", "brickwork", "gable"),
        ("restore", "support", "decorate", "frame", "repair", "survey", "brace", "light", "shelter", "reuse"),
        ("Gothic", "ornate", "sturdy", "weathered", "symmetrical", "narrow", "vaulted", "modest"),
        ("architects", "masons", "owners", "conservators", "carpenters"),
    ),
)

NAMES = ("Ada Morgan", "Tomás Ferreira", "Li Wei", "Priya Nair", "Jonas Berg", "Amara Okafor", "Sofia Russo",
         "Hannah Klein", "Mateo Silva", "Yuki Tanaka", "Omar Haddad", "Grace O'Neill", "Ivan Petrov", "Leila Haddad")
ADVERBS = ("slowly", "quickly", "carefully", "rarely", "often", "quietly", "steadily", "gradually", "reliably", "suddenly")
OPENERS = ("However,", "In practice,", "By contrast,", "For example,", "Over time,", "In most cases,", "At first,",
           "Surprisingly,", "Even so,", "As a rule,", "In the long run,", "On the other hand,")
TIME_UNITS = ("weeks", "months", "years", "seasons", "days")

TEMPLATES = (
    "{Adj} {nouns} tend to {verb} the {thing} when {people} {verb2} {adv}.",
    "{Opener} {people} who {verb} {nouns} {adv} find that the {thing} becomes {adj}.",
    "In {year}, {name} argued that {nouns} {verb} {adj} {nouns2} more {adv} than most {people} expected.",
    "This is why {people} rarely {verb} {nouns} without a {adj} {thing}.",
    "One {thing} we studied {verbed} {num} {nouns} over {num2} {unit}.",
    "But what happens when {people} {verb} {adj} {nouns} instead of {nouns2}?",
    "According to {name}, the {adj} {thing} is {adj2}, not {adj3}, and that changes how {people} {verb} {nouns}.",
    "{Opener} the {thing} {verbs} the {nouns}, and the {nouns2} {verb} the {thing2} in turn.",
    "Few {people} notice how {adv} {nouns} {verb} a {adj} {thing}.",
    "The {adj} {thing} matters because it lets {people} {verb} {nouns2} before the {thing2} changes.",
    "{Opener} a {adj} {thing} can {verb} as many as {num} {nouns} in a single {thing2}.",
    "When the {thing} is {adj}, {people} usually {verb} the {nouns} first and the {nouns2} later.",
    "{Name} once remarked that {nouns} are the {adj} part of any {thing}.",
    "Nobody expects {nouns} to {verb} {nouns2} {adv}, yet it happens every few {unit}.",
    "It is tempting to {verb} every {thing} the same way, but {adj} {nouns} need a different approach.",
    "The {people} we interviewed {verbed} the {thing} {adv} and {verbed2} its {nouns} by hand.",
    "{Opener} {num} percent of {people} said they {verb} {nouns} at least once a {unit_sing}.",
    "Is a {adj} {thing} better than a {adj2} one? {People} still disagree about that.",
    "{Nouns_cap} {verb} {adv} under a {adj} {thing}, so {people} should plan for it.",
    "A {adj} {thing} and a handful of {nouns} are often enough to {verb} the {thing2}.",
    "{Opener} the old advice to {verb} {nouns} {adv} still holds for most {people}.",
    "Each {thing} {verbs} its own {nouns}, which is why {people} keep careful notes.",
)

HEADING_TEMPLATES = (
    "The {adj} {thing}", "Why {nouns} matter", "{Nouns_cap} and {nouns2}", "Working with {nouns}",
    "What {people} get wrong about the {thing}", "A closer look at {adj} {nouns}", "When to {verb} the {thing}",
)


def _third(verb: str) -> str:
    if re.search(r"(s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _past(verb: str) -> str:
    if verb.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ied"
    if re.search(r"[^aeiou][aeiou][bdgmnpt]$", verb) and len(verb) <= 4:
        return verb + verb[-1] + "ed"
    return verb + "ed"


def _fill(template: str, topic: Topic, rng: random.Random) -> str:
    nouns = rng.sample(topic.nouns, 2)
    things = rng.sample(topic.things, 2)
    verbs = rng.sample(topic.verbs, 2)
    adjs = rng.sample(topic.adjectives, 3)
    people = rng.choice(topic.people)
    values = {
        "nouns": nouns[0], "nouns2": nouns[1], "Nouns_cap": nouns[0][0].upper() + nouns[0][1:],
        "thing": things[0], "thing2": things[1],
        "verb": verbs[0], "verb2": verbs[1], "verbs": _third(verbs[0]),
        "verbed": _past(verbs[0]), "verbed2": _past(verbs[1]),
        "adj": adjs[0], "adj2": adjs[1], "adj3": adjs[2], "Adj": adjs[0][0].upper() + adjs[0][1:],
        "people": people, "People": people[0].upper() + people[1:],
        "adv": rng.choice(ADVERBS), "Opener": rng.choice(OPENERS),
        "name": rng.choice(NAMES), "Name": rng.choice(NAMES),
        "year": rng.randrange(1820, 2024), "num": rng.randrange(2, 95), "num2": rng.randrange(2, 30),
        "unit": rng.choice(TIME_UNITS), "unit_sing": rng.choice(TIME_UNITS)[:-1],
    }
    return template.format(**values)


def paragraph(topic: Topic, rng: random.Random) -> str:
    target = rng.randrange(MIN_WORDS, MAX_WORDS + 1)
    sentences: list[str] = []
    count = 0
    while True:
        sentence = _fill(rng.choice(TEMPLATES), topic, rng)
        n = len(sentence.split())
        if count + n > MAX_WORDS:
            if count >= MIN_WORDS:
                break
            continue  # try a shorter sentence
        sentences.append(sentence)
        count += n
        if count >= target:
            break
    return " ".join(sentences)


def write_corpus(folder: Path, paragraphs: int = 2400, files: int = 12, seed: int = 7) -> dict:
    """Write `paragraphs` paragraphs over `files` Markdown files; return a summary."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_file = [paragraphs // files + (1 if i < paragraphs % files else 0) for i in range(files)]
    words = 0
    written = []
    for i, n in enumerate(per_file):
        topic = TOPICS[i % len(TOPICS)]
        lines = [f"# {topic.title}", ""]
        left = n
        section = 0
        while left:
            section += 1
            size = min(left, rng.randrange(4, 9))
            heading = _fill(rng.choice(HEADING_TEMPLATES), topic, rng)
            lines += [f"## {section}. {heading[0].upper() + heading[1:]}", ""]
            for _ in range(size):
                text = paragraph(topic, rng)
                words += len(text.split())
                lines += [text, ""]
            left -= size
        path = folder / f"{i + 1:02d}-{re.sub(r'[^a-z]+', '-', topic.title.lower()).strip('-')}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        written.append(path)
    return {"files": len(written), "paragraphs": paragraphs, "words": words,
            "mean_words_per_paragraph": round(words / paragraphs, 1)}


QUESTION_TEMPLATES = (
    "Why do {people} {verb} {nouns}?",
    "What happens to the {thing} when {nouns} are {adj}?",
    "How do {people} {verb} a {adj} {thing}?",
    "What did {name} argue about {nouns}?",
    "Which {nouns} need a different approach?",
)


def questions(n: int = 20, seed: int = 11) -> list[str]:
    """Deterministic learner-style questions about the synthetic corpus's topics."""
    rng = random.Random(seed)
    return [_fill(rng.choice(QUESTION_TEMPLATES), TOPICS[i % len(TOPICS)], rng) for i in range(n)]


if __name__ == "__main__":  # preview: python benchmarks/synthetic.py
    demo = random.Random(1)
    for t in TOPICS[:3]:
        print(paragraph(t, demo), "\n")
