// A table's plain column headers, in order (sortable ones are buttons and are drawn by their table).
export function ColumnHeads({ labels }: { labels: readonly string[] }) {
  return (
    <>
      {labels.map((label) => (
        <th key={label} scope="col">
          {label}
        </th>
      ))}
    </>
  )
}
