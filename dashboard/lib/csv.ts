/** RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled. */

export function toCsv<T extends object>(rows: T[], columns: (keyof T & string)[]): string {
  const lines = [columns.map(field).join(",")];
  for (const row of rows) lines.push(columns.map((column) => field(row[column])).join(","));
  return lines.join("\r\n") + "\r\n";
}

function field(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  // A leading =, +, - or @ would make a spreadsheet run the cell as a formula.
  if (/^[=+\-@]/.test(text) && Number.isNaN(Number(text))) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Offer a CSV as a download in the browser. */
export function downloadCsv(filename: string, csv: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: "text/csv;charset=utf-8" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  URL.revokeObjectURL(url);
}
