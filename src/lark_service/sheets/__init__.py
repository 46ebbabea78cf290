"""Sheets: spreadsheets, sheets, cell values, styles, merges, dimensions, frozen panes
(``client.sheets``). See ``docs/sheets.md``."""
