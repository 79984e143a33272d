"""Small seizure corpora in the native layouts of CHB-MIT, Siena, SeizeIT1 and SzCORE's BIDS, and
the labels each recording must get, known from how it was written.

Each ``write_*`` fills a folder with a few recordings of tens of seconds (the real channel labels,
fake EEG with a 3 Hz burst in each seizure) and annotation files that carry the quirks and defects
of the real ones, each named where it is written; the records it returns say what an ingest must
read. Seizures are in seconds from the first sample, unclipped; their types are SzCORE's HED-SCORE
names (``sz`` where the dataset has none). Everything is deterministic, and all four corpora
together stay under 15 MB.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from brainbrr._native import write_edf

__all__ = [
    "BIDS_AVG",
    "BIDS_BIPOLAR",
    "CHBMIT_CHANGED",
    "CHBMIT_CHANNELS",
    "CHBMIT_LISTED_ABSENT",
    "SEIZEIT_CHANNELS",
    "SEIZEIT_OPEN_END_S",
    "SIENA_CHANNELS",
    "SIENA_PN16",
    "WRITERS",
    "CorpusRecording",
    "Intervals",
    "write_bids",
    "write_chbmit",
    "write_seizeit",
    "write_siena",
]

Intervals = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class CorpusRecording:
    """One written EDF and what an ingest must read from it.

    ``patient``, ``session`` and ``run`` are the names the corpus itself uses: the patient's folder
    (CHB-MIT's ``chb21`` is ``chb01`` recorded later, so its patient is ``chb01`` and its session
    ``chb21``), BIDS's ``sub-``/``ses-``/``run-`` labels, and for the native corpora the folder as
    session (CHB-MIT only) and the file's stem as run.
    """

    rel: str  #: posix path from the corpus root
    corpus: str  #: "chbmit", "siena", "seizeit" or "bids"
    patient: str
    session: str
    run: str
    fs: float
    n_samples: int  #: per channel
    channels: tuple[str, ...]
    start: dt.datetime  #: as the EDF header says
    #: Seizures in seconds from the first sample; None: no annotation (unlabeled), (): background.
    seizures: Intervals | None
    types: tuple[str, ...]  #: one per seizure


def _write(root: Path, rec: CorpusRecording) -> CorpusRecording:
    """Write ``rec``'s EDF: noise and a 10 Hz rhythm, a 3 Hz burst in each seizure, dummy channels flat."""
    rng = np.random.default_rng(zlib.crc32(rec.rel.encode()))
    t = np.arange(rec.n_samples) / rec.fs
    burst = np.zeros(rec.n_samples)
    for a, b in rec.seizures or ():
        inside = (t >= a) & (t < b)
        burst[inside] = 150 * np.sin(2 * np.pi * 3 * t[inside])
    signals = [
        np.zeros(rec.n_samples)
        if label in ("-", ".")
        else 10 * rng.standard_normal(rec.n_samples) + 20 * np.sin(2 * np.pi * 10 * t + rng.uniform(0, 6.28)) + burst
        for label in rec.channels
    ]
    path = root / rec.rel
    path.parent.mkdir(parents=True, exist_ok=True)
    month = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()[rec.start.month - 1]
    write_edf(
        path,
        signals,
        [rec.fs] * len(signals),
        list(rec.channels),
        patient=rec.patient,
        recording=f"Startdate {rec.start.day:02d}-{month}-{rec.start.year} X X X",
        start=rec.start,
    )
    return rec


#: The 10-20 electrodes in the order of Siena's EDFs (and of epilepsy2bids).
_EEG_19 = (
    "Fp1", "F3", "C3", "P3", "O1", "F7", "T3", "T5", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "O2", "F8", "T4", "T6",
)


def _intervals(seizures: Sequence[tuple[float, float]]) -> Intervals:
    return tuple((float(a), float(b)) for a, b in seizures)


# --- CHB-MIT (PhysioNet chbmit 1.0.0) ------------------------------------------

#: Bipolar, as every file of the summaries the real corpus ships: T8-P8 twice.
CHBMIT_CHANNELS = (
    "FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP2-F4", "F4-C4", "C4-P4", "P4-O2",
    "FP2-F8", "F8-T8", "T8-P8", "P8-O2", "FZ-CZ", "CZ-PZ", "P7-T7", "T7-FT9", "FT9-FT10", "FT10-T8", "T8-P8",
)
#: The montage after a ``Channels changed:`` block: dummy channels ``-`` and ``.`` among the real ones
#: (where they sit is made up; the real corpus has both names).
CHBMIT_CHANGED = (*CHBMIT_CHANNELS[:18], "-", *CHBMIT_CHANNELS[18:], ".")
#: Listed in chb01-summary.txt, with a seizure, but not written: the real summaries list absent files.
CHBMIT_LISTED_ABSENT = "chb01/chb01_05.edf"


def _chb_summary(channels: Sequence[str], blocks: Sequence[str]) -> str:
    head = "Data Sampling Rate: 256 Hz\n*************************\n\nChannels in EDF Files:\n**********************\n"
    return head + _chb_channels(channels) + "\n" + "".join(blocks)


def _chb_channels(channels: Sequence[str]) -> str:
    return "".join(f"Channel {i}: {c}\n" for i, c in enumerate(channels, 1))


def _chb_file(name: str, start: str, end: str, seizures: Sequence[tuple[int, int]], numbered: bool) -> str:
    """One file's block; early subjects write ``Seizure Start Time:``, later ones ``Seizure 1 Start Time:``."""
    lines = [f"File Name: {name}", f"File Start Time: {start}", f"File End Time: {end}"]
    lines.append(f"Number of Seizures in File: {len(seizures)}")
    for i, (a, b) in enumerate(seizures, 1):
        k = f" {i}" if numbered else ""
        lines += [f"Seizure{k} Start Time: {a} seconds", f"Seizure{k} End Time: {b} seconds"]
    return "\n".join(lines) + "\n\n"


def write_chbmit(root: Path) -> list[CorpusRecording]:
    """CHB-MIT: ``chbNN/chbNN_MM.edf`` at 256 Hz, seizures in ``chbNN/chbNN-summary.txt``.

    chb01 has a seizure file, a background file (listed, 0 seizures), a file started at ``24:10:12``
    (the header says 00.10.12 of the next day), a file not listed (unlabeled) and a listed file that
    is absent; chb21 (chb01 again) has the numbered seizure lines and a ``Channels changed:`` block
    before a file with dummy channels; chb17 has a lettered file.
    """
    root.mkdir(parents=True, exist_ok=True)
    out: list[CorpusRecording] = []

    def edf(
        name: str,
        seconds: int,
        start: dt.datetime,
        seizures: Intervals | None,
        channels: tuple[str, ...] = CHBMIT_CHANNELS,
    ) -> None:
        folder = name[:5]
        patient = "chb01" if folder == "chb21" else folder
        types = ("sz",) * len(seizures or ())
        rel = f"{folder}/{name}"
        rec = CorpusRecording(
            rel, "chbmit", patient, folder, name[:-4], 256.0, 256 * seconds, channels, start, seizures, types
        )
        out.append(_write(root, rec))

    # PhysioNet replaced the dates with surrogates and kept the times.
    day = dt.datetime(2076, 11, 6)
    edf("chb01_01.edf", 64, day.replace(hour=23, minute=10), ((12.0, 40.0),))
    edf("chb01_02.edf", 40, day.replace(hour=23, minute=59, second=40), ())
    edf("chb01_03.edf", 64, day + dt.timedelta(days=1, minutes=10, seconds=12), ((3.0, 17.0), (40.0, 58.0)))
    edf("chb01_04.edf", 30, day + dt.timedelta(days=1, hours=1), None)
    (root / "chb01" / "chb01-summary.txt").write_text(
        _chb_summary(
            CHBMIT_CHANNELS,
            [
                _chb_file("chb01_01.edf", "23:10:00", "23:11:04", [(12, 40)], numbered=False),
                # End times run past 24 after midnight; start times may too, and hours lose their 0.
                _chb_file("chb01_02.edf", "23:59:40", "24:00:20", [], numbered=False),
                _chb_file("chb01_03.edf", "24:10:12", "24:11:16", [(3, 17), (40, 58)], numbered=False),
                _chb_file(Path(CHBMIT_LISTED_ABSENT).name, "01:30:00", "2:30:00", [(100, 150)], numbered=False),
            ],
        )
    )

    day = dt.datetime(2078, 5, 20)  # 1.5 years later
    edf("chb21_01.edf", 40, day.replace(hour=10), ((9.0, 31.0),))
    edf("chb21_02.edf", 40, day.replace(hour=10, second=45), ((2.0, 14.0), (25.0, 40.0)), CHBMIT_CHANGED)
    (root / "chb21" / "chb21-summary.txt").write_text(
        _chb_summary(
            CHBMIT_CHANNELS,
            [
                _chb_file("chb21_01.edf", "10:00:00", "10:00:40", [(9, 31)], numbered=True),
                "Channels changed:\n" + _chb_channels(CHBMIT_CHANGED) + "\n",
                _chb_file("chb21_02.edf", "10:00:45", "10:01:25", [(2, 14), (25, 40)], numbered=True),
            ],
        )
    )

    edf("chb17a_03.edf", 30, dt.datetime(2079, 2, 11, 8), ((10.0, 22.0),))
    (root / "chb17" / "chb17-summary.txt").write_text(
        _chb_summary(CHBMIT_CHANNELS, [_chb_file("chb17a_03.edf", "08:00:00", "08:00:30", [(10, 22)], numbered=True)])
    )
    (root / "SUBJECT-INFO").write_text("Case\tGender\tAge (years)\n\nchb01\tF\t11\nchb17\tF\t12\nchb21\tF\t13\n")
    return out


# --- Siena Scalp EEG (PhysioNet siena-scalp-eeg 1.0.0) --------------------------

#: The 10-20 subset of the real 29 EEG channels, in their order, and some of the others.
SIENA_CHANNELS = (*(f"EEG {e}" for e in _EEG_19), "EKG EKG", "SPO2", "1", "MK")
#: PN16's montage: FP2 and CZ upper case and after the numbered channels, a lettered channel, no EKG.
SIENA_PN16 = (
    *(f"EEG {e}" for e in _EEG_19 if e not in ("Fp2", "Cz", "T3")),
    "SPO2", "1", "EEG FP2", "PLET", "EEG T3", "EEG CZ", "A", "MK",
)
#: subject_info.csv's rows (real values) and its ` seizure` column in SzCORE's names.
_SIENA_SUBJECTS = {
    "PN00": ("PN00,55,Male,IAS,T,R,29,5,198", "sz_foc_ia"),
    "PN01": ("PN01,46,Male,IAS,T,L,29,2,809", "sz_foc_ia"),
    "PN06": ("PN06,36,Male,IAS,T,L,29,5,722", "sz_foc_ia"),
    "PN10": ("PN10,25,Male,FBTC,F,Bilateral,20,10,1002", "sz_foc_f2b"),
    "PN11": ("PN11,58,Female,IAS,T,R,29,1,145", "sz_foc_ia"),
    "PN12": ("PN12,71,Male,IAS,T,L,29,4,246", "sz_foc_ia"),
    "PN14": ("PN14,49,Male,WIAS,T,L,29,4,1408", "sz_foc_a"),
    "PN16": ("PN16,41,Female,IAS,T,L,29,2,303", "sz_foc_ia"),
}


def _siena_head(title: str, channels: Sequence[str]) -> str:
    """The list's preamble; it calls O1 ``1`` (the EDFs say ``EEG O1``)."""
    names = [c.removeprefix("EEG ") for c in channels if c.startswith("EEG ")]
    body = "".join(f"Channel {i}: {'1' if n == 'O1' else n}      \n" for i, n in enumerate(names, 1))
    return f"{title}\n\nData Sampling Rate: 512 Hz\n\nChannels in EDF files:\n{body}\n\n"


def _clock(start: dt.datetime, seconds: float, sep: str = ".") -> str:
    """The wall-clock time ``seconds`` after ``start`` as the Siena lists write it."""
    return (start + dt.timedelta(seconds=seconds)).strftime(f"%H{sep}%M{sep}%S")


def write_siena(root: Path) -> list[CorpusRecording]:
    """Siena: ``PNxx/PNxx-K.edf`` at 512 Hz, ``PNxx/Seizures-list-PNxx.txt``, ``subject_info.csv``.

    The lists give wall-clock times; a seizure is at its clock time minus the EDF header's start
    (plus a day past midnight). Every defect of the real lists known to us is in one of them.
    """
    root.mkdir(parents=True, exist_ok=True)
    out: list[CorpusRecording] = []

    def edf(
        name: str, start: dt.datetime, seconds: int, seizures: Intervals, channels: tuple[str, ...] = SIENA_CHANNELS
    ) -> Callable[..., str]:
        """Write the EDF; return its clock (``_clock`` from its header's start)."""
        patient = name[:4]
        types = (_SIENA_SUBJECTS[patient][1],) * len(seizures)
        rel = f"{patient}/{name}"
        rec = CorpusRecording(
            rel, "siena", patient, "", name[:-4], 512.0, 512 * seconds, channels, start, seizures, types
        )
        out.append(_write(root, rec))
        return partial(_clock, start)

    def seizure_list(
        patient: str, body: str, *, newline: str = "\n", channels: Sequence[str] = SIENA_CHANNELS, title: str = ""
    ) -> None:
        text = _siena_head(title or patient, channels) + body
        (root / patient / f"Seizures-list-{patient}.txt").write_text(text, newline=newline)

    # PN00-3: the listed end is an hour late (19.29.29 for 18.29.29), past the recording's end.
    at = edf("PN00-3.edf", dt.datetime(2016, 1, 1, 18, 28, 27), 64, ((2.0, 62.0),))
    seizure_list(
        "PN00",
        f"Seizure n 3\nFile name: PN00-3.edf\nRegistration start time: {at(0)}\nRegistration end time:  {at(64)}\n"
        f"Seizure start time: {at(2)}\nSeizure end time: {at(3662)}\n\n",
    )
    # PN01-1 is listed as PN01.edf, once for both seizures (before "Seizure n 1"), with "Start time:"
    # lines and ':' separators; the second seizure is after midnight.
    at = edf("PN01-1.edf", dt.datetime(2016, 1, 1, 23, 59, 52), 20, ((2.0, 6.0), (12.0, 18.0)))
    seizure_list(
        "PN01",
        f"File name: PN01.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(20)}\n\n"
        f"Seizure n 1\nStart time: {at(2, ':')}\nEnd time: {at(6, ':')}\n\n"
        f"Seizure n 2\nStart time: {at(12, ':')}\nEnd time: {at(18, ':')}\n\n",
    )
    # PN06-1 is listed as PNO6-1.edf (letter O); CRLF line endings.
    at = edf("PN06-1.edf", dt.datetime(2016, 1, 1, 4, 21, 22), 20, ((4.0, 15.0),))
    seizure_list(
        "PN06",
        f"Seizure n 1\nFile name: PNO6-1.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(20)}\n"
        f"Seizure start time: {at(4)}\nSeizure end time: {at(15)}\n\n",
        newline="\r\n",
    )
    # PN10: two times in one line, "A opure B" (Italian: "or B"; A is taken: the longer seizure) and a
    # clinical and an electrographic onset (the electrographic one is taken, as CHB-MIT annotates);
    # "Registration start time:1 6.49.25" in the first of three blocks of one file.
    at = edf("PN10-2.edf", dt.datetime(2016, 1, 1, 11, 40, 35), 20, ((2.0, 15.0),))
    body = (
        f"Seizure n 2\nFile name: PN10-2.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(20)}\n"
        f"Seizure start time: {at(2)}\nSeizure end time: {at(15)} opure {at(8)}\n\n"
    )
    at = edf("PN10-3.edf", dt.datetime(2016, 1, 1, 15, 43, 50), 20, ((9.0, 18.0),))
    body += (
        f"Seizure n 3\nFile name: PN10-3.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(20)}\n"
        f"Seizure start time: {at(3)} (CLINICAL ONSET); {at(9)} (ELECTRIC ONSET)\nSeizure end time: {at(18)}\n\n"
    )
    at = edf("PN10-7.8.9.edf", dt.datetime(2016, 1, 1, 16, 49, 25), 30, ((3.0, 8.0), (12.0, 17.0), (22.0, 28.0)))
    for n, (a, b) in zip((7, 8, 9), ((3, 8), (12, 17), (22, 28)), strict=True):
        registration = "1 6.49.25" if n == 7 else f" {at(0)}"
        body += (
            f"Seizure n {n}\nFile name: PN10-7.8.9.edf\nRegistration start time:{registration}\n"
            f"Registration end time: {at(30)}\nSeizure start time: {at(a)}\nSeizure end time: {at(b)}\n\n"
        )
    seizure_list("PN10", body)
    # PN11-1 is listed as PN11-.edf.
    at = edf("PN11-1.edf", dt.datetime(2016, 1, 1, 12, 5, 0), 20, ((6.0, 14.0),))
    seizure_list(
        "PN11",
        f"Seizure n 1\nFile name: PN11-.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(20)}\n"
        f"Seizure start time: {at(6)}\nSeizure end time: {at(14)}\n\n",
    )
    # PN12: the second block repeats the file name without registration lines (the first's apply);
    # separators mixed within one time.
    at = edf("PN12-1.2.edf", dt.datetime(2016, 1, 1, 16, 13, 20), 30, ((3.0, 10.0), (15.0, 26.0)))
    seizure_list(
        "PN12",
        f"Seizure n 1\nFile name: PN12-1.2.edf\nRegistration start time: {at(0)}\nRegistration end time: {at(30)}\n"
        f"Seizure start time: {at(3)[:5].replace('.', ':')}{at(3)[5:]}\nSeizure end time: {at(10)}\n\n"
        f"Seizure n 2\nFile name: PN12-1.2.edf\nSeizure start time: {at(15)}\nSeizure end time: {at(26)}\n\n",
    )
    # PN14-3: the listed registration start is 3 h before the EDF header's (16.17.45 for 19.17.45);
    # the header's is the first sample's.
    at = edf("PN14-3.edf", dt.datetime(2016, 1, 1, 19, 17, 45), 20, ((5.0, 17.0),))
    seizure_list(
        "PN14",
        f"Seizure n 3\nFile name: PN14-3.edf\nRegistration start time: {at(-3 * 3600)}\n"
        f"Registration end time: {at(20)}\nSeizure start time: {at(5)}\nSeizure end time: {at(17)}\n\n",
    )
    # PN16's spacing: trailing blanks, "(in sleep):", no blank after "time:".
    at = edf("PN16-1.edf", dt.datetime(2017, 1, 1, 20, 45, 21), 20, ((5.0, 14.0),), SIENA_PN16)
    seizure_list(
        "PN16",
        f"Seizure n 1 (in sleep):\nFile name: PN16-1.edf \nRegistration start time: {at(0)}\n"
        f"Registration end time: {at(20)}\nSeizure start time: {at(5)} \nSeizure end time:{at(14)}\n",
        channels=SIENA_PN16,
        title="PN16 ",
    )
    columns = "age_years gender seizure localization lateralization eeg_channel number_seizures rec_time_minutes"
    head = "patient_id" + "".join(f", {c}" for c in columns.split()) + "\n"  # the names after the first start with " "
    rows = "".join(row + "\n" for row, _ in _SIENA_SUBJECTS.values())
    (root / "subject_info.csv").write_text(head + rows + "\n")
    return out


# --- SeizeIT1 (KU Leuven, doi 10.48804/P5Q0OJ) -----------------------------------

#: Scalp 10-20, behind-the-ear (``Oor...``), sphenoidal and ECG, unprefixed.
SEIZEIT_CHANNELS = (
    "Fp1", "Fp2", "F3", "F4", "F7", "F8", "Fz", "C3", "C4", "Cz", "T3", "T4", "T5", "T6", "P3", "P4", "Pz", "O1", "O2",
    "OorLiAchter", "OorReAchter", "OorLiTop", "OorReTop", "Sph1", "Sph2", "ECG",
)
_SEIZEIT_TYPES = {"FIA": "sz_foc_ia", "FA": "sz_foc_a", "F-BTC": "sz_foc_f2b"}
#: A seizure listed without an end lasts 30 s: SzCORE's convention (epilepsy2bids), not the dataset's.
SEIZEIT_OPEN_END_S = 30
_SEIZEIT_HEAD = (
    "# Source: SeizeIt1\n# Annotators: Neurologist\n# Subject: {patient}\n# Gender: Male\n# Age: 20\n"
    "# Recording: {run}\n"
    '# Seizure Type: "FIAS"=Focal Impaire Awareness, "FA"= Focal Awareness, "F-BTC"=Focal-Bilateral Tonic Clonic \n'
    '# Origin: "Temp"=Temporal, "Fronto-temp"= Fronto-temporal, "Occipito-temp"=Occipito-temporal, '
    '"Fronto-par"=Fronto-parietal, "Par"=Parietal, "NC"=not clear \n'
    '# Hemisphere: "bi"=Bihemispherical, "R"=Right, "L"=Left, "NC"=Not clear \n \n\n\n'
)


def write_seizeit(root: Path) -> list[CorpusRecording]:
    """SeizeIT1: ``P_IDxx/P_IDxx_rN.edf`` at 250 Hz with ``P_IDxx_rN_a1.tsv`` (annotator 1).

    Rows are ``start stop type comment`` in seconds from the file start, after a ``#`` header (its
    legend says FIAS, the rows FIA): a seizure whose stop is ``None``, two of the other types, a TSV
    with only its header (background) and an EDF without a TSV (unlabeled).
    Dates in the headers are anonymized to 2070-01-01 00:00:00.
    """
    root.mkdir(parents=True, exist_ok=True)
    out: list[CorpusRecording] = []
    start = dt.datetime(2070, 1, 1)

    def edf(name: str, seconds: int, rows: Sequence[tuple[int, int | None, str, str]] | None) -> None:
        patient, run = name.split("_r")
        ends = [(a, a + SEIZEIT_OPEN_END_S if b is None else b) for a, b, _, _ in rows or ()]
        seizures = None if rows is None else _intervals(ends)
        types = tuple(_SEIZEIT_TYPES[t] for _, _, t, _ in rows or ())
        rel = f"{patient}/{name}.edf"
        rec = CorpusRecording(
            rel, "seizeit", patient, "", name, 250.0, 250 * seconds, SEIZEIT_CHANNELS, start, seizures, types
        )
        out.append(_write(root, rec))
        if rows is not None:
            body = "".join(f"{a}\t{b}\t{t}\t{comment}\n" for a, b, t, comment in rows)
            (root / patient / f"{name}_a1.tsv").write_text(_SEIZEIT_HEAD.format(patient=patient, run=f"r{run}") + body)

    edf("P_ID64_r1", 40, [(10, None, "FIA", "Hem:L, Orig:Temp, bhe: 0")])
    rows = [(5, 12, "FA", "Hem:R, Orig:Fronto-temp, bhe: 1"), (20, 35, "F-BTC", "Hem:bi, Orig:Temp, bhe: 0")]
    edf("P_ID64_r2", 40, rows)
    edf("P_ID64_r10", 20, [])
    edf("P_ID83_r1", 20, None)
    return out


# --- BIDS in SzCORE's format --------------------------------------------------------

#: SzCORE's Siena, SeizeIT and TUSZ copies: 19 channels, common average.
BIDS_AVG = tuple(f"{e}-Avg" for e in _EEG_19)
#: SzCORE's CHB-MIT copy: 18 bipolar channels under their CHB-MIT names, in epilepsy2bids' order.
BIDS_BIPOLAR = (
    "FP1-F3", "F3-C3", "C3-P3", "P3-O1", "FP1-F7", "F7-T7", "T7-P7", "P7-O1", "FZ-CZ", "CZ-PZ",
    "FP2-F4", "F4-C4", "C4-P4", "P4-O2", "FP2-F8", "F8-T8", "T8-P8", "P8-O2",
)
#: One ``_events.tsv`` row: onset, duration, eventType, confidence, channels.
_Event = tuple[float, float, str, str, str]


def write_bids(root: Path) -> list[CorpusRecording]:
    """SzCORE's BIDS: ``sub-XX/ses-YY/eeg/sub-XX_ses-YY_task-szMonitoring_run-ZZ_eeg.edf`` at 256 Hz.

    Each EDF has an ``_events.tsv`` written as epilepsy2bids writes them (seconds to 0.01 s,
    ``n/a`` where unknown; one ``bckg`` row spanning a recording without seizures) and an
    ``_eeg.json``; ``participants.tsv`` and ``dataset_description.json`` at the root. sub-01 is a
    CHB-MIT subject (bipolar, runs from run-00, chb21 as ses-02), sub-02 a Siena/SeizeIT one.
    """
    root.mkdir(parents=True, exist_ok=True)
    out: list[CorpusRecording] = []

    def add(sub: str, ses: str, run: str, seconds: int, start: dt.datetime, events: Sequence[_Event]) -> None:
        stem = f"sub-{sub}/ses-{ses}/eeg/sub-{sub}_ses-{ses}_task-szMonitoring_run-{run}"
        channels = BIDS_BIPOLAR if sub == "01" else BIDS_AVG
        seizures = _intervals([(a, a + d) for a, d, t, _, _ in events if t != "bckg"])
        types = tuple(t for _, _, t, _, _ in events if t != "bckg")
        ids = (f"sub-{sub}", f"ses-{ses}", f"run-{run}")
        rec = CorpusRecording(f"{stem}_eeg.edf", "bids", *ids, 256.0, 256 * seconds, channels, start, seizures, types)
        out.append(_write(root, rec))
        when = start.strftime("%Y-%m-%d %H:%M:%S")
        head = "onset\tduration\teventType\tconfidence\tchannels\tdateTime\trecordingDuration\n"
        body = "".join(f"{a:.2f}\t{d:.2f}\t{t}\t{c}\t{ch}\t{when}\t{seconds:.2f}\n" for a, d, t, c, ch in events)
        (root / f"{stem}_events.tsv").write_text(head + body)
        sidecar = {
            "TaskName": "szMonitoring",
            "SamplingFrequency": 256,
            "EEGChannelCount": len(channels),
            "EEGReference": "double banana bipolar montage" if sub == "01" else "Common Average",
            "RecordingDuration": seconds,
        }
        (root / f"{stem}_eeg.json").write_text(json.dumps(sidecar, indent=2) + "\n")

    chb = dt.datetime(2076, 11, 6, 11, 42, 54)
    na = ("sz", "n/a", "n/a")
    add("01", "01", "00", 30, chb, [(0.0, 30.0, "bckg", "n/a", "n/a")])
    add("01", "01", "01", 40, chb + dt.timedelta(hours=1), [(3.0, 12.0, *na), (25.0, 13.0, *na)])
    add("01", "02", "00", 30, dt.datetime(2078, 5, 20, 10), [(9.0, 21.0, *na)])
    # Siena and SeizeIT: onsets to 0.01 s, a channel list, an assumed end (confidence 0.5), a seizure the whole run.
    siena = dt.datetime(2016, 1, 1, 19, 39, 33)
    rows: list[_Event] = [(3.89, 10.32, "sz_foc_ia", "n/a", "T4,T6"), (20.25, 15.5, "sz_foc_a", "0.50", "n/a")]
    add("02", "01", "01", 40, siena, rows)
    add("02", "01", "02", 30, siena + dt.timedelta(hours=2), [(0.0, 30.0, "sz_gen_m_tonicClonic", "1.00", "Fp1,Fp2")])
    (root / "participants.tsv").write_text(
        "participant_id\tage\tsex\tcomment\nsub-01\t11\tf\tses-02 recorded at 13 years old\nsub-02\t55\tm\tn/a\n"
    )
    description = {"Name": "brainbrr test corpus", "BIDSVersion": "1.8.0", "HEDVersion": "score_1.1.0"}
    (root / "dataset_description.json").write_text(json.dumps(description, indent=2) + "\n")
    return out


#: Each corpus's writer, by the name the records carry.
WRITERS: dict[str, Callable[[Path], list[CorpusRecording]]] = {
    "chbmit": write_chbmit,
    "siena": write_siena,
    "seizeit": write_seizeit,
    "bids": write_bids,
}
