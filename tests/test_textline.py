"""The text line's decisions as tables: keywords, typos, languages, compliance, crisis."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from rapidfuzz import fuzz

from ivr import model, segments, texting, textline
from ivr.menus import normalize_word
from ivr.wording import tokens

WHEN = datetime.fromisoformat("2026-12-01T10:00:00-05:00")  # open: call-backs "today"


def reply(line, text, opted_out=False, opt_out_type=""):
    return textline.reply_to(line, text, opted_out, opt_out_type, WHEN)


def all_keywords(line):
    for topic_id, topic in line.spec.topics.items():
        for lang in ("en", "es"):
            for word in topic.keywords[lang]:
                yield topic_id, lang, word


def test_every_keyword_and_synonym_in_both_languages(line):
    for topic_id, _lang, word in all_keywords(line):
        for typed in (word, word.lower(), f"  {word.title()}!! ", f"info {word}", f"about {word}?"):
            got = reply(line, typed)
            assert (got.kind, got.topic) == ("keyword", topic_id), typed
        lang_of_word = line.keywords[normalize_word(word).replace(" ", "")][1]
        assert reply(line, word).body == texting.topic_text(line, topic_id, lang_of_word)


TYPOS = [
    ("detox", "withdrawal", "en"),
    ("DeToX.", "withdrawal", "en"),
    ("de tox", "withdrawal", "es"),  # "de" reads as Spanish; DETOX is a keyword in both
    ("withdrawl", "withdrawal", "en"),
    ("methadon", "medications", "en"),
    ("suboxen", "medications", "en"),
    ("naloxon", "overdose", "en"),
    ("relaps", "relapse", "en"),
    ("privacy please", "privacy", "en"),
    ("info on methadone", "medications", "en"),
    ("metadona", "medications", "es"),
    ("señales", "signs", "es"),
    ("senales", "signs", "es"),
    ("recaída", "relapse", "es"),
    ("RECAIDA", "relapse", "es"),
    ("sobre metadona", "medications", "es"),
    ("Desintoxicación", "withdrawal", "es"),
    ("abstinensia", "withdrawal", "es"),
    ("loved one", "signs", "en"),
    ("i need info about fentanyl please", "overdose", "en"),
    ("quiero saber de la naloxona", "overdose", "es"),
]


@pytest.mark.parametrize(("typed", "topic", "lang"), TYPOS)
def test_typing_is_forgiven(line, typed, topic, lang):
    got = reply(line, typed)
    assert (got.kind, got.topic, got.lang) == ("keyword", topic, lang)


def test_one_wrong_letter_in_a_long_keyword_still_matches(line):
    for topic_id, _, word in all_keywords(line):
        plain = normalize_word(word).replace(" ", "")
        if len(plain) >= 7:
            typo = plain[:3] + ("X" if plain[3] != "X" else "Q") + plain[4:]
            assert reply(line, typo).topic == topic_id, typo


def test_no_two_keywords_of_different_topics_are_close_enough_to_confuse(line):
    table = line.keywords
    for (a, (ta, _)), (b, (tb, _)) in itertools.combinations(table.items(), 2):
        if ta != tb:
            assert fuzz.ratio(a, b) < textline.FUZZY_CUTOFF, (a, b, fuzz.ratio(a, b))


@pytest.mark.parametrize(
    ("typed", "lang"),
    [("MENU", "en"), ("menu", "en"), ("Menú", "es"), ("temas", "es"), ("topics", "en")],
)
def test_menu_lists_the_keywords(line, typed, lang):
    got = reply(line, typed)
    assert (got.kind, got.lang) == ("menu", lang)
    first_words = [t.keywords[lang][0] for t in line.spec.topics.values()]
    assert all(w.upper() in got.body.upper() for w in first_words)
    assert segments.count(got.body).parts <= 2


@pytest.mark.parametrize("typed", ["hello?", "asdfgh", "", "   ", "🙂", "ok", "x" * 1600])
def test_anything_unrecognised_gets_a_kind_reply_with_the_menu_and_number(line, typed):
    got = reply(line, typed)
    assert got.kind == "unknown"
    assert got.body.startswith("Sorry, we did not understand.") and "203-245-0412" in got.body
    assert segments.count(got.body).parts <= 2


def test_spanish_unknown_is_answered_in_spanish(line):
    got = reply(line, "hola, buenas tardes")
    assert got.lang == "es" and got.body.startswith("Lo siento, no le entendimos.")


STOPS = [
    "STOP",
    "stop",
    "Stop.",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "opt-out",
    "please stop texting me",
    "Stop messaging me!",
    "no more texts",
    "unsubscribe me",
    "don't text me",
    "take me off this list",
    # An opt-out word with a courtesy, and plain words; the crisis model once read some of
    # these as a wish to die or an overdose
    "stop please",
    "Please stop",
    "STOP STOP",
    "stop now",
    "stop it",
    "i want to unsubscribe",
    "opt me out",
    "opt out please",
    "dont text me anymore",
    "do not text me anymore",
    "dont message me anymore",
]
STOPS_ES = [
    "PARAR",
    "basta",
    "no más mensajes",
    "No mas",
    "no me envíen más",
    "dejen de escribirme",
    "alto por favor",
    "Parar por favor",
    "basta ya",
    "No me mandes más mensajes",
    "no me escribas mas",
    "ya no me manden mensajes",
    "deja de mandarme mensajes",
]


# Golden texts, written out: a broken footer, spelling or encoding fails these tests.
STOPPED = {
    "en": "You will get no more texts from this number. Text START to get them again. "
    "Emergency: 911. Crisis: call or text 988.",
    "es": "No recibira mas textos de este numero. Envie START para recibirlos otra vez. "
    "Emergencia: 911. Crisis: llame o envie texto al 988.",
}
STARTED = {
    "en": "You can get texts from us again. Text MENU for topics. Reply STOP to stop. "
    "Emergency: 911. Crisis: call or text 988.",
    "es": "Puede recibir textos otra vez. Envie MENU para ver temas. Responda STOP para no "
    "recibir mas. Emergencia: 911. Crisis: llame o envie texto al 988.",
}


@pytest.mark.parametrize("typed", STOPS + STOPS_ES)
def test_opt_out_words_confirm_once_then_silence(line, typed):
    first = reply(line, typed)
    assert first.kind == "opt-out"
    expected = "es" if typed in STOPS_ES else "en"
    assert first.lang == expected
    assert first.body == STOPPED[expected]
    again = reply(line, typed, opted_out=True)
    assert (again.kind, again.body) == ("silent", None)


@pytest.mark.parametrize("typed", ["DETOX", "menu", "hello", "CALL", "info methadone"])
def test_after_opting_out_everything_else_is_silence(line, typed):
    got = reply(line, typed, opted_out=True)
    assert (got.kind, got.body) == ("silent", None)


@pytest.mark.parametrize("typed", ["START", "start", "UNSTOP", "Yes", "sí"])
def test_opting_back_in(line, typed):
    got = reply(line, typed, opted_out=True)
    assert got.kind == "opt-in"
    assert got.body == STARTED[got.lang]


@pytest.mark.parametrize(("typed", "lang"), [("HELP", "en"), ("info", "en"), ("Ayuda", "es")])
@pytest.mark.parametrize("opted_out", [False, True])
def test_help_answers_with_name_number_stop_and_rates(line, typed, lang, opted_out):
    got = reply(line, typed, opted_out=opted_out)
    assert got.kind == "help" and got.lang == lang
    assert "Waterstone Counseling Center" in got.body and "203-245-0412" in got.body
    assert "STOP" in got.body
    if lang == "en":
        assert "Msg & data rates may apply." in got.body


@pytest.mark.parametrize(
    "typed",
    [
        "how do I help my son stop using",
        "when do you stop answering calls?",
        "I want to stop using",
        "stop using heroin",
        "how do I stop",
        "please stop by tomorrow",
        "quit smoking",
        "can I stop by the center",
        "help with detox",
        "what does OD mean for methadone?x",
    ],
)
def test_sentences_with_stop_or_help_are_not_compliance_words(line, typed):
    assert reply(line, typed).kind not in ("opt-out", "help")


@pytest.mark.parametrize(("kind", "body"), [("STOP", None), ("START", None), ("HELP", None)])
def test_twilio_advanced_opt_out_is_honoured(line, kind, body):
    got = reply(line, "whatever they typed", opt_out_type=kind)
    assert got.kind == {"STOP": "opt-out", "START": "opt-in", "HELP": "help"}[kind]
    assert got.body is body  # Twilio sends its own confirmation


CRISIS = [
    ("my friend is OD'ing what do i do", "overdose", "en"),
    ("he OD'd", "overdose", "en"),
    ("I think my brother is overdosing", "overdose", "en"),
    ("she's not breathing", "overdose", "en"),
    ("she is gasping", "overdose", "en"),
    ("he keeps gasping for air", "overdose", "en"),
    ("he won't wake up!!", "overdose", "en"),
    ("HIS LIPS ARE BLUE", "overdose", "en"),
    ("I took too much", "overdose", "en"),
    ("od", "overdose", "en"),
    ("mi hijo no respira", "overdose", "es"),
    ("creo que es una sobredosis", "overdose", "es"),
    ("no despierta, ayuda", "overdose", "es"),
    ("I want to kill myself", "suicide", "en"),
    ("i dont want to live anymore, I want to die", "suicide", "en"),
    ("thinking about suicide", "suicide", "en"),
    ("I keep hurting myself", "suicide", "en"),
    ("me quiero morir", "suicide", "es"),
    ("pienso en quitarme la vida", "suicide", "es"),
]
NOT_CRISIS = [
    "how do I help my son stop using",
    "what is an overdose?",
    "overdose",
    "odd question about methadone",
    "good morning",
    "methadone dose question",
    "my dad used to smoke",
    "I want to stop using",
    "information on naloxone",
    "dying to know your hours",
    "sobredosis info",
]


@pytest.mark.parametrize(("typed", "kind", "lang"), CRISIS)
def test_crisis_gets_the_safety_reply_first(line, typed, kind, lang):
    for opted_out in (False, True):
        got = reply(line, typed, opted_out=opted_out)
        assert (got.kind, got.crisis, got.lang) == ("crisis", kind, lang), typed
        assert "988" in got.body and "203-245-0412" in got.body
        if kind == "overdose":
            assert "911" in got.body and ("naloxone" in got.body or "naloxona" in got.body)
        assert segments.count(got.body).parts <= 2


@pytest.mark.parametrize("typed", NOT_CRISIS)
def test_ordinary_messages_do_not_trigger_the_crisis_reply(line, typed):
    assert reply(line, typed).kind != "crisis"


def test_our_own_texts_sent_back_by_a_machine_are_not_answered(line):
    """An auto-responder echoing our crisis reply would otherwise loop: it reads as a crisis."""
    sent = [
        texting.topic_text(line, topic, lang) for topic in line.content for lang in ("en", "es")
    ]
    sent += [
        textline.reply_to(line, words, False, "", WHEN).body
        for words in ("he is not breathing", "me quiero matar", "HELP", "AYUDA", "MENU", "hola")
    ]
    for body in sent:
        got = reply(line, body)
        assert (got.kind, got.body) == ("echo", None), body


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("Sorry, we did not understand. I want to kill myself", "suicide"),
        ("lo siento no le entendimos, me quiero matar", "suicide"),
        ("Text a word to learn more about how I can kill myself", "suicide"),
        ("Sorry, we did not understand. He is not breathing", "overdose"),
        # our opt-out confirmation quoted: its "no more texts" is ours, not an opt-out
        (STOPPED["en"] + " I want to die", "suicide"),
    ],
)
def test_a_person_writing_after_our_own_words_is_still_heard(line, typed, kind):
    """A message that opens like one of our texts is an echo only if nothing a person added
    speaks of a danger: a reply quoted back with a crisis after it gets the crisis reply."""
    got = reply(line, typed)
    assert (got.kind, got.crisis, got.opts_out) == ("crisis", kind, False)


@pytest.mark.parametrize(
    "typed", ["end it all", "I want to end it", "Stop texting me, I want to die"]
)
def test_a_wish_to_die_beside_stop_words_is_a_crisis(line, typed):
    assert reply(line, typed).kind == "crisis"


SAFETY_FLOOR = [
    ("asdf qwerty", "unknown"),
    ("hola, buenas tardes", "unknown"),
    ("HELP", "help"),
    ("AYUDA", "help"),
    ("MENU", "menu"),
    ("TEMAS", "menu"),
    ("CALL", "callback"),
    ("LLAMAR", "callback"),
    ("STOP", "opt-out"),
    ("PARAR", "opt-out"),
]


@pytest.mark.parametrize(("typed", "kind"), SAFETY_FLOOR)
def test_every_reply_that_is_not_a_topic_carries_911_and_988(line, typed, kind):
    got = reply(line, typed)
    assert got.kind == kind
    assert "911" in got.body and "988" in got.body
    assert segments.count(got.body).parts <= 2
    if got.lang == "es":
        assert "Emergencia: 911" in got.body


def test_every_fixed_text_carries_911_and_988_in_both_languages(line):
    for name, text in line.spec.messages:
        if name.startswith("sms_") and name not in ("sms_footer",):
            for lang in ("en", "es"):
                sent = text[lang].format(menu=texting.menu_text(line, lang), keywords="", when="")
                assert "911" in sent and "988" in sent, (name, lang)


WHAT_IF_REACH = [
    ("what do I do if he is not breathing", False),
    ("if my son stops breathing after he uses, what do I do", False),
    ("I am afraid he could stop breathing but he has a pulse", False),
    ("i dont know what would happen if i call but he is not breathing", True),
    ("si no despierta que hago", False),
    ("tengo miedo de llamar al 911 porque no tenemos papeles pero mi hermano no despierta", True),
]


@pytest.mark.parametrize(("typed", "crisis"), WHAT_IF_REACH)
def test_a_what_if_reaches_to_the_end_of_its_clause_only(line, typed, crisis):
    """'but' / 'pero' starts a new clause: a what-if before it does not take back a danger
    said after it (clause_break in menus.yaml)."""
    assert (reply(line, typed).kind == "crisis") is crisis


TOLD_AS_OVER_OR_NOW = [
    # A was-then reaches a phrase only until the story comes back to now (back_to_now).
    ("last year he was not breathing when we found him", False),
    ("last year he was in rehab, now he is not breathing", True),
    ("el año pasado lo encontre en el patio y no se mueve", False),
    ("el año pasado lo atendieron ustedes y orita lo encontre en el patio y no se mueve", True),
    # "ahora esta bien" says it is over; "ahora esta bien palida" is Spanish's "very pale".
    ("tuvo una sobredosis el año pasado, ahora esta bien", False),
    ("le dieron una pastilla y ahora esta bien palida y no contesta", True),
    ("mi hija tomo unas pastillas y ahora esta bien dormida y no se despierta", True),
    # "siempre" marks a habit told ("siempre ha tenido problemas"), not "para siempre".
    ("ya no me importa nada solo quiero que se acabe este dolor para siempre", True),
    # A threat told back: "I said I'd kill myself if I relapsed, and today I did".
    ("dije que si recaia otra vez me mataba y hoy recai", True),
    ("en la peli hubo un tiroteo y todos murieron", False),
]


NO_DANGER_WORD = [
    # No word of danger (`danger_words`): the model is heard only when it is very sure.
    ("tengo la cuchilla en la mano y me tiembla todo", "suicide"),
    ("quiero parar pero no puedo, tengo la cuchilla en la mano", "suicide"),
    ("i want to talk to a real person", None),
    ("no me envíen más", None),  # a short command: the model is not heard without a danger word
    ("en minecraft me cai de un acantilado", None),
]


@pytest.mark.parametrize(("typed", "danger"), NO_DANGER_WORD)
def test_the_model_without_a_word_of_danger_must_be_sure(line, typed, danger):
    recognizer = line.crisis
    said = tokens(typed)
    assert not any(recognizer.danger_words.spans(said))  # the case this table is about
    found = recognizer.find(typed)
    assert (found.kind if found else None) == danger
    if danger:
        chances = recognizer.model.chances(typed)
        assert 1 - chances["none"] >= model.UNGUIDED_THRESHOLD


HISTORY_OR_MANNER = [
    # A long-ago word inside a rate or a manner is not history (still_now in menus.yaml).
    ("911 told me to stay on the line. hes breathing like twice a minute", True),
    ("i took 6 percs at once and now i feel real weird", True),
    ("se tomo todas las pastillas de una vez y no despierta", True),
    ("he overdosed twice last year and now he wants treatment", False),
    # Laughter takes back one sign of overdose, not several (laughter in menus.yaml).
    ("lol he passed out on the couch again", False),
    (
        "rn hes slumped over on the couch and wont answer me and his breathing is real slow,"
        " prob just tired lol",
        True,
    ),
    ("my dog is not moving and wont wake up", False),
    ("lol in that movie he was slumped over and not breathing and nobody helped", False),
    # "quería saber" is a polite now, not a was-then before a wish to die.
    ("queria saber si aceptan HUSKY porque ya estoy pensando en acabar con todo", True),
    ("queria matarme cuando tenia 15, ahora busco terapia para la ansiedad", False),
]


WHAT_TO_DO = [
    # Beside an overdose, "what do I do" asks about the overdose, not about the needle
    # (signs) or the heroin (treatment) the message names; a question about the center stands.
    ("my dad is on the floor with a needle next to him and wont wake up, what do i do", "overdose"),
    (
        "mi hermano no respira y hay una jeringa al lado, que hago mientras llega la ambulancia",
        "overdose",
    ),
    ("his breathing is real slow and he wont wake up. what time do you open tomorrow?", "contact"),
    # Without a what-to-do question the topic named stays (the safety step leads either way).
    (
        "se tomo la metadona de la semana y no despierta, cuanto dura la metadona en el cuerpo?",
        "medications",
    ),
]


@pytest.mark.parametrize(("typed", "topic"), WHAT_TO_DO)
def test_what_to_do_beside_an_overdose(line, typed, topic):
    answer = reply(line, typed)
    assert answer.kind == "crisis" and answer.crisis == "overdose"
    assert answer.topic == topic
    assert answer.followup == texting.topic_text(line, topic, answer.lang)


YES_AND_REACH = [
    # "sí" (yes), its accent kept, is no what-if; "si" (if) still is.
    ("hola sí buenas es que mi esposo no lo puedo levantar y tiene los labios azules", True),
    ("si mi esposo tiene los labios azules que hago", False),
    # A what-if reaches twelve words at most, even without a comma.
    (
        "dicen que lo que vende el tipo de la esquina trae de todo y yo me inyecte un poco"
        " hace media hora y no siento las piernas",
        True,
    ),
    ("what do i do if my son who has been using for years stops breathing", False),
]


def test_yes_keeps_its_accent_apart_only_in_tokens():
    assert tokens("Sí, señor") == ("sii", "senor") and tokens("si no despierta")[0] == "si"
    assert normalize_word("Sí") == "SI"  # the START keyword in Spanish still reads SI


TOLD_AROUND = [
    # A reported threat can be long over (suicide_past): history when the message says when.
    ("mi esposo amenazo con suicidarse hace años cuando tomaba, hoy esta sobrio y bien", False),
    ("mi hijo amenazo con matarse y se encerro en el baño", True),
    # A threat told back that came true today.
    ("me dijo que si su mama se enteraba que usa se mataba. y la mama se entero hoy", True),
    # A joke denied some words before it is no joke.
    ("she said she will drive into the river after her shift and she was not kidding", True),
    # A conditional asked ("would I OD") and a word heard ("the word overdose") are questions.
    ("3 weeks clean. but if I ever did slip, would I OD easier now?", False),
    ("my 9 year old heard the word overdose at school, how do i explain it", False),
    ("creo que fue sobredosis lo que le paso ayer al señor del bus", False),
    # Round 21: sayings of nerves, habits, and plain words for a plan.
    ("me estoy muriendo de los nervios porque mañana es mi primera cita", False),
    ("mi esposo siempre se queda dormido sentado y tiene las pupilas chiquitas, es droga?", False),
    ("I have been thinking about ending things. I still have all her pills.", True),
    ("took out all my meds and lined them up on the table", True),
    # Round 22: a lost reason said with "see", a saying of slow harm, an act carried off.
    ("lost my job, wife took the kids. i dont see any reason to keep going", True),
    ("my uncle is slowly drinking himself to death and nobody will say a word", False),
    ("le pusieron narcan a un chamaco en mi cuadra, ya se lo llevaron y iba despierto", False),
    ("me estoy muriendo con los escalofrios y la diarrea, eso es abstinencia?", False),
    # Round 24: a laugh of nerves takes nothing back (nervous); a threat laughed off on a
    # condition is a joke (condition), a laugh alone is not; an attempt last night, still wanted.
    ("jajaja no se por que me rio estoy nerviosa, mi tio se inyecto y no despierta", True),
    ("haha sorry freaking out, my roommate used and now hes slumped over and wont answer", True),
    ("lol he passed out on the couch again, not a joke, he wont wake up", True),
    ("lmao if my team loses again tonight im jumping off a bridge", False),
    ("jajaja me mato si me vuelven a poner turno doble", False),
    ("lol i want to kill myself", True),
    ("me acabo de cortar otra vez jaja soy un desastre", True),
    ("last night i took a handful of pills and i still want to", True),
    ("anoche me tome todas las pastillas y todavia quiero hacerlo", True),
    # Round 25: a relapse after naloxone, goodbyes said sideways, a week ago told as over.
    ("after the narcan she came to but now shes nodding back out", True),
    ("dont worry i wont be a burden to anyone much longer", True),
    ("he says he will cut his throat if they send him home", True),
    ("fent seems painless and i want to go out that way", True),
    ("last week we found him not breathing, narcan brought him back. any group for us", False),
    ("mi vecino se quedo con los labios oscuros y no despierta", True),
    # Round 26: a plan with a place, a joke that recurs, something that was fine earlier.
    ("if she doesnt text back by tonight im done, the pills are right here", True),
    ("ya reparti mis cosas y le deje una carta a mi mama", True),
    ("im done fighting with my landlord lol. do you take husky", False),
    ("mi primo dice que se quiere matar cada vez que pierde el Madrid jajaja", False),
    ("casi me muero del susto, encontre papel quemado en su cuarto. que hago", False),
    ("my brother got sent back in for a probation violation, can he get methadone there", False),
    # Round 27: letters dropped on a cracked phone; a medicine asked about; sayings of work.
    ("cnt wake hr up shes blu", True),
    ("dnt wnt to b hre anymr. the rope is up", True),
    ("does methadone slow breathing when you first start it", False),
    ("gotta kill this interview tomorrow lol", False),
    ("no quiero amanecer, ya no puedo", True),
    ("no quiero amanecer tarde, tengo cita a las 8", False),
]


@pytest.mark.parametrize(
    ("typed", "crisis"),
    TOLD_AS_OVER_OR_NOW + HISTORY_OR_MANNER + YES_AND_REACH + TOLD_AROUND,
)
def test_a_danger_told_as_over_or_as_now(line, typed, crisis):
    """Every table of how a story is told: history, manner, laughter (and nerves), politeness,
    "sí", a what-if's reach, threats told back, laughed off on a condition, and jokes denied."""
    assert (reply(line, typed).kind == "crisis") is crisis


REPLY_LANGUAGE = [
    # Short questions: everyday verbs, and Spanish endings on words in neither list.
    ("aceptan husky?", "es"),
    ("atienden sabados?", "es"),
    ("evaluacion?", "es"),
    ("inyectandose diario", "es"),
    ("do you take husky?", "en"),
    ("is there an evening program", "en"),
]


@pytest.mark.parametrize(("typed", "lang"), REPLY_LANGUAGE)
def test_a_short_question_is_answered_in_its_language(line, typed, lang):
    assert reply(line, typed).lang == lang
