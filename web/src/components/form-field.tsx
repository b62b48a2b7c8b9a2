// A labelled form field (text input or select), with its "(optional)" hint and the server's complaint about it.
import type { AllHTMLAttributes, ReactNode } from 'react'

/** What the server said about this field, shown under it and tied to the control for screen readers. */
type FieldError = { id: string; message: string } | null

interface FieldProps {
  id: string
  label: string
  optional?: boolean
  error?: FieldError
}

function Field({ id, label, optional, error, children }: FieldProps & { children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {optional ? (
          <>
            {' '}
            <span className="muted">(optional)</span>
          </>
        ) : null}
      </label>
      {children}
      {error ? (
        <span id={error.id} className="field__error">
          {error.message}
        </span>
      ) : null}
    </div>
  )
}

const invalid = (error: FieldError | undefined) => (error ? { 'aria-invalid': true, 'aria-describedby': error.id } : {})

/** A field component around one kind of control; the rest of its props go to the control. */
function fieldOf(Control: 'input' | 'select') {
  return function ControlField({
    id,
    label,
    optional,
    error,
    ...control
  }: FieldProps & Omit<AllHTMLAttributes<HTMLInputElement | HTMLSelectElement>, 'id'>) {
    return (
      <Field id={id} label={label} optional={optional} error={error}>
        <Control id={id} {...control} {...invalid(error)} />
      </Field>
    )
  }
}

export const InputField = fieldOf('input')
export const SelectField = fieldOf('select')
