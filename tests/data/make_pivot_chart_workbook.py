"""Make tests/data/pivot_chart.xlsx: a LibreOffice-saved workbook with a pivot table and a chart.

openpyxl cannot write pivot tables, so LibreOffice Calc does it through UNO: a data sheet, a formula
sheet, a DataPilot (pivot table, with its cache) summing sales by region, and a bar chart, saved as
Excel 2007+ .xlsx. Run once from the repository root: `python tests/data/make_pivot_chart_workbook.py`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import openpyxl

from benchmarks.libreoffice_uno import CalcSession, import_uno

OUT = Path(__file__).resolve().parent / "pivot_chart.xlsx"
ROWS = [("North", "a", 10.0), ("South", "b", 20.0), ("North", "b", 5.0), ("East", "a", 7.5)]


def main() -> None:
    uno = import_uno()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.xlsx"
        wb = openpyxl.Workbook()
        data = wb.active
        data.title = "Data"
        data.append(["Region", "Product", "Sales"])
        for row in ROWS:
            data.append(row)
        calc = wb.create_sheet("Calc")
        calc["A1"] = 2.0
        calc["B1"] = "=SUM(Data!C2:C5)*A1"
        wb.create_sheet("Pivot")
        wb.save(source)
        with CalcSession(source) as session:
            doc = session._doc
            sheets = doc.Sheets
            source_range = sheets.getByName("Data").getCellRangeByName("A1:C5").RangeAddress
            pivots = sheets.getByName("Pivot").getDataPilotTables()
            descriptor = pivots.createDataPilotDescriptor()
            descriptor.setSourceRange(source_range)
            fields = descriptor.getDataPilotFields()
            orientation = "com.sun.star.sheet.DataPilotFieldOrientation"
            fields.getByIndex(0).Orientation = uno.Enum(orientation, "ROW")
            fields.getByIndex(2).Orientation = uno.Enum(orientation, "DATA")
            fields.getByIndex(2).Function = uno.Enum("com.sun.star.sheet.GeneralFunction", "SUM")
            target = uno.createUnoStruct("com.sun.star.table.CellAddress")
            target.Sheet, target.Column, target.Row = 2, 0, 0
            pivots.insertNewByName("SalesByRegion", target, descriptor)
            rect = uno.createUnoStruct("com.sun.star.awt.Rectangle")
            rect.X, rect.Y, rect.Width, rect.Height = 8000, 1000, 10000, 6000
            sheets.getByName("Data").getCharts().addNewByName(
                "SalesChart", rect, (source_range,), True, True
            )
            store = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
            store.Name, store.Value = "FilterName", "Calc MS Excel 2007 XML"
            doc.storeToURL(OUT.as_uri(), (store,))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
