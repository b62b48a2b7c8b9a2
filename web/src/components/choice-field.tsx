// A labelled select for a filter bar: one "all" choice first, then the options as given.
export function ChoiceField({
  id,
  label,
  value,
  onChange,
  all,
  options,
  format = (option) => option,
  testId,
}: {
  id: string
  label: string
  value: string
  onChange(value: string): void
  /** The choice that filters nothing: its label, and its value ('' unless said). */
  all: { label: string; value?: string }
  options: readonly string[]
  format?: (option: string) => string
  testId?: string
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value={all.value ?? ''}>{all.label}</option>
        {options.map((option) => (
          <option key={option} value={option}>
            {format(option)}
          </option>
        ))}
      </select>
    </div>
  )
}
