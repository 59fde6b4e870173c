"""The engine's test corpus: one workbook with every operator, reference form, structured
reference form and library function, written by openpyxl and checked against LibreOffice.

Sheet ``Data`` holds a table ``People`` (with derived ``[@...]`` columns and per-row runs beside
it), a parameter row behind the defined name ``Params``, an MMULT array formula whose block
feeds later formulas, and more array formulas. Sheet ``My Sheet`` (a quoted name) holds a second
table, ``Costs``. Sheet ``Calc`` holds one formula per row (label in column A, formula in B) plus a
run of ``[#This Row]`` references to the table on the other sheet. Cases where LibreOffice knowingly
differs from Excel (see the function library's modules) are left out.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

PEOPLE = [
    ("Name", "Age", "Fare", "SibSp", "Parch", "Ones"),
    ("Alice", 22, 7.25, 1, 0, 1),
    ("Bob", 38, 71.2833, 1, 0, 1),
    ("Cara", 26, 7.925, 0, 0, 1),
    ("Dan", 35, 53.1, 1, 2, 1),
    ("Eve", 54, 8.05, 0, 1, 1),
    ("Finn", 2, 21.075, 3, 1, 1),
]
ROW = "People[[#This Row],[{}]]"  # how files store [@Col]

# Formulas on sheet Calc, one per row from row 2: (id, formula).
CALC: list[tuple[str, str]] = [
    # operators
    ("add", "=Data!B2+Data!C2"),
    ("sub", "=Data!B2-Data!C2"),
    ("mul", "=Data!B2*Data!C2"),
    ("div", "=Data!B2/Data!C2"),
    ("pow", "=Data!B2^0.5"),
    ("pow-neg-exp", "=2^-1"),
    ("neg", "=-Data!B2"),
    ("plus", "=+Data!B2"),
    ("percent", "=Data!B2%"),
    ("neg-pow", "=-2^2"),
    ("pow-left", "=2^3^2"),
    ("precedence", "=1+2*3-4/5"),
    ("concat", '="a"&"b"'),
    ("concat-cells", "=Data!A2&Data!B2"),
    ("concat-number", '=1.5&"x"'),
    ("bool-arith", "=TRUE+1"),
    ("text-arith", '="3"+1'),
    ("eq", "=Data!B2=22"),
    ("ne", "=Data!B2<>22"),
    ("lt", "=Data!B2<30"),
    ("gt", "=Data!B2>30"),
    ("le", "=Data!B2<=22"),
    ("ge", "=Data!B2>=23"),
    ("text-lt", '="a"<"b"'),
    ("text-eq-case", '="B"="b"'),
    ("num-lt-text", '=1<"a"'),
    ("blank-eq-zero", "=Data!Z99=0"),
    ("blank-eq-empty", '=Data!Z99=""'),
    ("div0", "=1/0"),
    ("value-error", '="a"+1'),
    ("error-literal", "=#N/A"),
    ("error-propagates", "=Data!B2+1/0"),
    # references
    ("abs", "=Data!$B$2*2"),
    ("mixed", "=Data!B$2+Data!$B3"),
    ("range", "=SUM(Data!B2:C7)"),
    ("whole-column", "=SUM(Data!B:B)"),
    ("whole-row", "=SUM(Data!3:3)"),
    ("quoted-sheet", "='My Sheet'!A1+'My Sheet'!A2"),
    ("quoted-range", "=SUM('My Sheet'!A1:A2)"),
    ("name-constant", "=rate*2"),
    ("name-range", "=SUM(Params)"),
    ("name-formula", "=twice+1"),
    ("name-sheet-scope", "=local"),
    ("name-qualified", "=Calc!local*10"),
    ("name-hidden", "=secret"),
    ("implicit-row", "=Data!$A$3:$H$3"),
    # structured references
    ("column", "=SUM(People[Age])"),
    ("columns", "=AVERAGE(People[[#Data],[Age]:[Fare]])"),
    # LibreOffice 7.4 misreads the bare People[#All] / People[#Data] (0 and #NAME?); the
    # binding tests check those forms, here they carry a column range.
    ("all", "=COUNT(People[[#All],[Age]:[Fare]])"),
    ("data", "=SUM(People[[#Data],[Name]:[Ones]])"),
    ("bare-table", "=SUM(People)"),
    ("headers", "=People[[#Headers],[Fare]]"),
    ("header-data", "=COUNT(People[[#Headers],[#Data],[Age]])"),
    ("other-sheet-table", "=SUM(Costs[Cost])"),
    ("derived-column", "=MAX(People[AgeN])"),
    ("table-sumproduct", "=SUMPRODUCT(People[Fare],People[Ones])"),
    ("table-range", "=SUM(People[[SibSp]:[Ones]])"),
    # every library function
    ("sumproduct", "=SUMPRODUCT(Data!B2:B7,Data!C2:C7)"),
    ("sumproduct-2d", "=SUMPRODUCT(Data!D2:F7,Data!D2:F7)"),
    ("sum", "=SUM(1,2,Data!B2)"),
    ("average", "=AVERAGE(Data!B2:C7)"),
    ("count", "=COUNT(Data!A2:C7)"),
    ("max", "=MAX(Data!B2:B7,100)"),
    ("min", "=MIN(Data!C2:C7)"),
    ("sumsq", "=SUMSQ(Data!B2:B7)"),
    ("sumxmy2", "=SUMXMY2(Data!B2:B7,Data!C2:C7)"),
    ("sumx2my2", "=SUMX2MY2(Data!B2:B7,Data!C2:C7)"),
    ("if", '=IF(Data!B2>30,"old","young")'),
    ("if-no-else", "=IF(FALSE,1)"),
    ("if-missing-arg", "=IF(TRUE,,2)"),
    ("iferror", '=IFERROR(1/0,"bad")'),
    ("iferror-ok", "=IFERROR(Data!B2,-1)"),
    ("and", "=AND(TRUE,Data!B2>1)"),
    ("or", "=OR(FALSE,0)"),
    ("not", "=NOT(Data!B2>1)"),
    ("abs-fn", "=ABS(-3.5)"),
    ("sqrt", "=SQRT(Data!C2)"),
    ("power", "=POWER(2,0.5)"),
    ("exp", "=EXP(1.5)"),
    ("ln", "=LN(Data!C2)"),
    ("log", "=LOG(100)"),
    ("log-base", "=LOG(8,2)"),
    ("log10", "=LOG10(1000)"),
    ("sign", "=SIGN(-2)"),
    ("round", "=ROUND(2.345,2)"),
    ("round-half", "=ROUND(-2.5,0)"),
    ("round-left", "=ROUND(1234.5,-2)"),
    ("tanh", "=TANH(0.5)"),
    ("array-constant", "=SUM({1,2;3,4}*2)"),
    ("mmult-total", "=SUM(Data!N2:O7)"),
    ("mmult-scalar", "=SUM(MMULT({1,2},{3;4}))"),
    ("transpose-sum", "=SUMPRODUCT(TRANSPOSE(Data!B2:B7),Data!K12:P12)"),
    ("nested", "=ROUND(SQRT(ABS(Data!B3-Data!C3))*EXP(-1),6)"),
]


def build_corpus(path: Path) -> Path:
    """Write the corpus workbook to `path`."""
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    for row in PEOPLE:
        data.append(row)
    last = len(PEOPLE)
    data["G1"], data["H1"] = "AgeN", "Score"
    for r in range(2, last + 1):
        data[f"G{r}"] = f"={ROW.format('Age')}/MAX(People[Age])"
        data[f"H{r}"] = "=SUMPRODUCT(People[[#This Row],[SibSp]:[Ones]],Params)"
        data[f"I{r}"] = f"=LOG10({ROW.format('Fare')}+1)"  # a run beside the table
        data[f"J{r}"] = f"=IF(H{r}-1<0,0,H{r}-1)"
        data[f"P{r}"] = f"=N{r}+O{r}"  # reads the MMULT block
    data.add_table(Table(displayName="People", ref=f"A1:H{last}"))
    for j, value in enumerate([0.5, -0.25, 0.75]):
        data.cell(2, 11 + j, value)  # K2:M2 = Params
    for r, (a, b) in enumerate([(0.1, -0.2), (0.3, 0.4), (-0.5, 0.6)], start=5):
        data[f"K{r}"], data[f"L{r}"] = a, b  # K5:L7, the MMULT parameters
    data["N2"] = ArrayFormula(f"N2:O{last}", "=MMULT(People[[SibSp]:[Ones]],$K$5:$L$7)")
    data["K12"] = ArrayFormula("K12:P12", "=TRANSPOSE(People[Age])")
    data["K14"] = ArrayFormula("K14:L15", "={1,2;3,4}*2")
    data["K17"] = ArrayFormula("K17:M18", "={1,2}")  # a row repeated down; column M is #N/A
    data["Q1"] = "=SUM(P2:P7)"

    other = wb.create_sheet("My Sheet")
    other["A1"], other["A2"] = 10, 20
    other["B1"] = "='My Sheet'!A1*2"
    for r, row in enumerate([("Item", "Cost"), ("x", 1.5), ("y", 2.5), ("z", 4)], start=1):
        other[f"D{r}"], other[f"E{r}"] = row
    other.add_table(Table(displayName="Costs", ref="D1:E4"))

    calc = wb.create_sheet("Calc")
    for r, (label, formula) in enumerate(CALC, start=2):
        calc[f"A{r}"], calc[f"B{r}"] = label, formula
    for r in range(2, last + 1):  # a run reading the table on another sheet, row by row
        calc[f"D{r}"] = f"={ROW.format('Age')}*2+{ROW.format('Fare')}"
    calc["F3"] = "=Data!$B$1:$B$7"  # implicit intersection with the formula's row

    wb.defined_names["rate"] = DefinedName("rate", attr_text="0.5")
    wb.defined_names["Params"] = DefinedName("Params", attr_text="Data!$K$2:$M$2")
    wb.defined_names["twice"] = DefinedName("twice", attr_text="Data!$B$2*2")
    wb.defined_names["secret"] = DefinedName("secret", attr_text="Data!$C$3", hidden=True)
    calc.defined_names["local"] = DefinedName("local", attr_text="'My Sheet'!$A$2")
    wb.save(path)
    return path
