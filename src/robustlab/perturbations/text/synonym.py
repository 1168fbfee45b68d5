"""Synonym substitution: words replaced by their nearest neighbours in MiniLM's embedding space."""

from __future__ import annotations

import functools
import random
import re

from robustlab.perturbations.text._base import Replacement, choose, transformation
from robustlab.perturbations.text._graphemes import is_mark

#: Cosine similarity a neighbour must reach to count as a synonym (see
#: :func:`robustlab.text.embeddings.word_neighbours`, which finds them).
MIN_SIMILARITY = 0.75
#: Neighbours considered per word; the replacement is drawn among those above the threshold.
NEIGHBOURS = 5

# Function words and negations are never substituted: their neighbours are other function words
# ("not" -> "never", "and" -> "or") that change what a sentence says.
STOPWORDS = frozenset(
    (
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both",
        "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "down", "during", "each",
        "either", "even", "ever", "every", "few", "for", "from", "further", "had", "has", "have",
        "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "however",
        "i", "if", "in", "into", "is", "it", "its", "itself", "just", "least", "less", "many", "me",
        "more", "most", "much", "must", "my", "myself", "neither", "never", "no", "nor", "not", "now",
        "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over",
        "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their",
        "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through",
        "to", "too", "under", "until", "up", "upon", "us", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with", "within",
        "without", "would", "yet", "you", "your", "yours", "yourself",
    )
)  # fmt: skip

#: Prefixes that negate a word ("unchanged"): such neighbours are antonyms.
_NEGATING = ("un", "dis", "non", "in", "im", "ir", "il")

# Words used in the same contexts that say something else. Embedding neighbours rank them
# close ("cheap" -> "expensive" 0.80, "husband" -> "wife" 0.87), so they are refused by name:
# antonym pairs, and contrast sets whose members are never synonyms of one another.
_ANTONYM_TEXT = """cheap:expensive cheap:costly inexpensive:expensive inexpensive:costly
    affordable:expensive small:large small:big small:huge tiny:huge tiny:large tiny:big
    little:big little:large short:long short:tall tall:small high:low big:little wide:narrow
    thick:thin heavy:light fast:slow quick:slow rapid:slow early:late young:old new:old
    modern:ancient hot:cold warm:cool warm:cold wet:dry hard:soft hard:easy difficult:easy
    simple:complex strong:weak rich:poor full:empty open:closed open:shut loud:quiet
    noisy:quiet loud:silent noisy:silent light:dark bright:dark clean:dirty safe:dangerous
    happy:sad happy:unhappy glad:sad good:bad great:terrible great:awful excellent:terrible
    excellent:awful excellent:poor wonderful:terrible best:worst better:worse love:hate
    loved:hated like:dislike liked:disliked buy:sell bought:sold buyer:seller buying:selling
    buys:sells purchase:sell give:take gave:took win:lose won:lost winner:loser victory:defeat
    accept:reject agree:disagree allow:forbid arrive:leave arrive:depart come:go start:finish
    start:end begin:end beginning:ending first:last before:after above:below up:down
    inside:outside top:bottom front:back push:pull increase:decrease rise:fall raise:lower
    add:remove include:exclude remember:forget always:never everything:nothing everyone:nobody
    true:false right:wrong correct:incorrect success:failure succeed:fail pass:fail
    positive:negative optimistic:pessimistic friend:enemy ally:enemy peace:war love:hatred
    alive:dead live:die birth:death male:female masculine:feminine major:minor maximum:minimum
    most:least more:less many:few plus:minus profit:loss gain:loss asleep:awake sleep:wake
    boring:exciting boring:interesting dull:exciting dull:interesting bored:excited
    calm:angry calm:nervous polite:rude kind:cruel generous:selfish honest:dishonest
    brave:cowardly wise:foolish clever:stupid smart:stupid beautiful:ugly pretty:ugly
    lovely:ugly attractive:ugly fresh:stale fresh:rotten sweet:sour sweet:bitter tasty:bland
    cooked:raw wealthy:poor private:public legal:illegal formal:informal import:export
    arrival:departure entrance:exit question:answer ask:answer teacher:student
    employer:employee landlord:tenant doctor:patient guilty:innocent"""
_ANTONYMS = _ANTONYM_TEXT.split()
_CONTRAST_TEXT = """husband,wife,husbands,wives man,woman,men,women boy,girl,boys,girls
    father,mother,dad,mom,mum,fathers,mothers brother,sister,brothers,sisters
    son,daughter,sons,daughters uncle,aunt,uncles,aunts nephew,niece king,queen,kings,queens
    prince,princess groom,bride boyfriend,girlfriend gentleman,lady,gentlemen,ladies
    actor,actress waiter,waitress male,female,males,females grandfather,grandmother
    democrat,republican,democrats,republicans,democratic,liberal,conservative,liberals,conservatives
    left,right north,south,east,west,northern,southern,eastern,western
    seconds,minutes,hours,days,weeks,months,years,decades,centuries
    second,minute,hour,day,week,month,year,decade,century
    monday,tuesday,wednesday,thursday,friday,saturday,sunday
    january,february,march,april,june,july,august,september,october,november,december
    spring,summer,autumn,fall,winter breakfast,lunch,dinner,brunch,supper
    morning,afternoon,evening,night,tonight,yesterday,today,tomorrow
    red,orange,yellow,green,blue,purple,pink,brown,black,white,grey,gray
    one,two,three,four,five,six,seven,eight,nine,ten,dozen,hundred,thousand,million,billion
    once,twice,double,triple,single,half,quarter
    cat,dog,cats,dogs,horse,cow,pig,sheep,chicken,bird,fish
    apple,orange,banana,grape,lemon beef,pork,chicken,lamb,fish
    coffee,tea,beer,wine,water,juice,milk
    car,bus,train,plane,bike,truck,taxi cars,buses,trains,planes,bikes,trucks
    hotel,hostel,motel city,town,village,country,state
    doctor,nurse,surgeon lawyer,judge teacher,professor
    poor,average,good,great,excellent"""
_CONTRASTS = _CONTRAST_TEXT.split()


def _contrast_pairs() -> frozenset[tuple[str, str]]:
    pairs = {tuple(sorted(p.split(":"))) for p in _ANTONYMS}
    for group in _CONTRASTS:
        members = group.split(",")
        pairs |= {tuple(sorted((a, b))) for a in members for b in members if a != b}
    return frozenset(pairs)  # type: ignore[arg-type]


#: Word pairs that are never synonyms here (sorted tuples): antonyms and contrast-set members.
CONTRASTING = _contrast_pairs()

# Part of speech and inflection without a tagger: irregular forms by name, regular ones by
# their ending. A neighbour must have the word's form ("running" -> "jogging", not "ran").
_IRREGULAR = {
    "past": """was were had did made said went got took came saw knew thought told became left
        felt brought began kept held wrote stood heard let meant set met paid sat spoke lay led
        read grew lost fell sent built understood drew broke spent cut rose drove bought wore
        chose sold fought threw caught taught slept ran won ate drank sang swam flew hid bit
        forgot gave done gone taken seen known given eaten written spoken broken chosen driven
        flown grown hidden stolen thrown worn begun drunk sung swum forgotten""",
    "plural": """men women children people feet teeth mice geese wives knives lives leaves
        halves selves wolves""",
}
_IRREGULAR_FORM = {w: form for form, ws in _IRREGULAR.items() for w in ws.split()}
_ENDINGS = (
    ("ly", "adverb"),
    ("ing", "ing"),
    ("ed", "past"),
    ("ness", "noun"),
    ("ment", "noun"),
    ("tion", "noun"),
    ("sion", "noun"),
    ("ity", "noun"),
    ("ance", "noun"),
    ("ence", "noun"),
    ("ship", "noun"),
    ("ism", "noun"),
    ("ous", "adjective"),
    ("ful", "adjective"),
    ("less", "adjective"),
    ("able", "adjective"),
    ("ible", "adjective"),
    ("ive", "adjective"),
    ("ize", "verb"),
    ("ise", "verb"),
    ("ify", "verb"),
)


#: Forms that an inflection gives a word; a neighbour must share the word's one exactly.
INFLECTED = frozenset({"past", "ing", "adverb", "plural"})


def same_form(a: str, b: str) -> bool:
    """Whether words of forms ``a`` and ``b`` (:func:`word_form`) may replace each other: the
    same inflection, and no two different derivational classes (noun, adjective, verb)."""
    if a in INFLECTED or b in INFLECTED:
        return a == b
    return a == b or "base" in (a, b)


def _bases(word: str) -> set[str]:
    """``word`` and what it may be an inflection of ("larger" -> "large", "sold" stays)."""
    out = {word}
    for ending, keep in (("s", ""), ("es", ""), ("er", ""), ("er", "e"), ("r", ""), ("est", ""),
                         ("est", "e"), ("st", ""), ("ed", ""), ("ed", "e"), ("d", ""),
                         ("ing", ""), ("ing", "e"), ("ly", ""), ("ily", "y"), ("ier", "y"),
                         ("iest", "y"), ("ies", "y")):  # fmt: skip
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            out.add(word[: -len(ending)] + keep)
    return out


def contrasting(a: str, b: str) -> bool:
    """Whether lower-case ``a`` and ``b``, or what they are inflections of, are listed as
    antonyms or members of one contrast set (:data:`CONTRASTING`)."""
    return any(tuple(sorted((x, y))) in CONTRASTING for x in _bases(a) for y in _bases(b))


def word_form(word: str) -> str:
    """A coarse part of speech and inflection of a lower-case English word, from its spelling:
    ``past`` ("loved", "ran"), ``ing``, ``adverb`` (-ly), ``plural`` ("films", "women"),
    ``noun``/``adjective``/``verb`` by derivational suffix, or ``base``."""
    if word in _IRREGULAR_FORM:
        return _IRREGULAR_FORM[word]
    for ending, form in _ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            return form
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ous")) and len(word) > 3:
        return "plural"
    return "base"


# Frequent function words of other languages written in Latin letters. A text is English when
# its English function words outnumber these (and, for a text with neither, when it is all
# ASCII): the neighbours come from an English vocabulary ("die" would become "death").
_FOREIGN_TEXT = """der die das den dem des ein eine einen einem einer und ist sind nicht mit von zu auf
    für ich sie wir ihr es auch sich aber wie noch nach bei aus wenn nur oder war wird sehr
    le la les un une des du et est sont pas pour dans avec sur qui que ce cette il elle nous
    vous ils très mais ou où été être avoir au aux
    el los las una unos unas y es son por para con del al lo su sus pero muy como más está
    il lo gli di da che è non per una sono della delle nel con ma anche
    het een en van ik je niet dat op te zijn met voor ook maar
    o os um uma não com para mas muito são está"""
_FOREIGN = frozenset(_FOREIGN_TEXT.split())


def is_english(text: str) -> bool:
    """Whether ``text`` reads as English: more English function words than those of German,
    French, Spanish, Italian, Dutch or Portuguese; with none of either, whether its letters
    are all ASCII."""
    tokens = re.findall(r"[^\W\d_]+", text.lower())
    english = sum(t in STOPWORDS for t in tokens)
    foreign = sum(t in _FOREIGN for t in tokens)
    if english or foreign:
        return english > foreign
    return all(c.isascii() for c in text if c.isalpha())


_CANDIDATE = re.compile(r"(?<![\w'’-])[A-Za-z]{3,}(?![\w'’-])")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)[\"'“‘(]?$")


def _eligible(text: str, m: re.Match[str]) -> bool:
    word = m.group()
    if word.lower() in STOPWORDS:
        return False
    # a combining mark on either side means the match is a piece of an accented word (NFD)
    if (m.end() < len(text) and is_mark(text[m.end()])) or (
        m.start() and is_mark(text[m.start() - 1])
    ):
        return False
    # a capital inside a sentence marks a name ("Emma Stone"), whose neighbours are not synonyms
    if not word.islower() and not _SENTENCE_START.search(text[: m.start()]):
        return False
    return bool(synonyms(word.lower()))


@functools.lru_cache(maxsize=65536)
def synonyms(word: str) -> tuple[str, ...]:
    """Neighbours of ``word`` (lower case) above :data:`MIN_SIMILARITY` that may replace it:
    not inflections or affixed forms of the word itself ("film" -> "films", "finish" ->
    "unfinished"), not antonyms or members of its contrast set (:data:`CONTRASTING`: "cheap" ->
    "expensive", "husband" -> "wife"), and of the same :func:`word_form` ("sell" keeps "buy"
    out as an antonym and "sale" in only if the form matches; "quickly" never becomes "fast")."""
    from robustlab.text.embeddings import word_neighbours

    out = []
    form = word_form(word)
    for other, _ in word_neighbours(word, k=NEIGHBOURS, min_similarity=MIN_SIMILARITY):
        low = other.lower()
        stem = low.removeprefix(next((p for p in _NEGATING if low.startswith(p)), ""))
        if low in STOPWORDS or low[:4] == word[:4] or stem[:4] == word[:4] or word in low:
            continue
        if contrasting(word, low) or not same_form(form, word_form(low)):
            continue
        out.append(low)
    return tuple(out)


@transformation(
    "synonym",
    description="words replaced by near neighbours in MiniLM's embedding space (cosine >= 0.75) "
    "of the same form, antonyms and contrasting words excluded, in English texts",
    references="Jin et al., Is BERT Really Robust? A Strong Baseline for Natural Language Attack "
    "on Text Classification and Entailment (TextFooler), AAAI 2020 (embedding-neighbour "
    "synonyms); Alzantot et al., Generating Natural Language Adversarial Examples, EMNLP 2018",
)
def synonym(text: str, rate: float, rng: random.Random) -> list[Replacement]:
    """Each chosen eligible word is replaced by one of its synonyms, drawn at random, in its case.

    Eligible: a content word of 3+ ASCII letters (not a function word, not a capitalised word
    inside a sentence, not a piece of an accented word) that has at least one accepted
    neighbour (see :func:`synonyms`), in a text that :func:`is_english`. ``rate`` is the
    fraction of these eligible words changed, rounded up; words without an accepted synonym
    are never changed, so even at rate 1.0 the share of all words changed is lower (8% of the
    bundled reviews' words, in the fifth of the reviews that have an eligible word).

    The filters are spelling and list based (no thesaurus or tagger ships offline): an
    antonym or co-hyponym missing from :data:`CONTRASTING` can still pass, so read a drop under
    this transformation together with its failing examples in the report.
    """
    from robustlab.text.embeddings import match_case

    if not is_english(text):
        return []
    eligible = [m for m in _CANDIDATE.finditer(text) if _eligible(text, m)]
    out: list[Replacement] = []
    for m in choose(eligible, rate, rng):
        new = rng.choice(synonyms(m.group().lower()))
        out.append((m.start(), m.end(), match_case(m.group(), new)))
    return out
