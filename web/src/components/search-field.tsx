// A labelled search box for a filter bar: the label names it for screen readers and for tests that find fields by label.
export function SearchField({
  id,
  label,
  value,
  onChange,
  placeholder,
  testId,
  grow = false,
}: {
  id: string
  label: string
  value: string
  onChange(value: string): void
  placeholder: string
  testId: string
  /** Take the row's spare width (the one field of a search form). */
  grow?: boolean
}) {
  return (
    <div className={grow ? 'field field--grow' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder={placeholder}
        data-testid={testId}
      />
    </div>
  )
}
