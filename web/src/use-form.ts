// A form's values and the one field the server refused, with the props that bind a field component to a value.
import { useState } from 'react'

/** The keys of a form whose values are text (a checkbox's boolean is bound by hand). */
type TextKey<T> = { [K in keyof T]: T[K] extends string ? K : never }[keyof T] & string

export function useForm<T extends Record<string, string | boolean>>(initial: T) {
  const [form, setForm] = useState(initial)
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | null>(null)
  /** `name`, `value`, `onChange` and the field's error, for an InputField or a SelectField. */
  const bind = (key: TextKey<T>) => ({
    name: key,
    value: form[key] as string,
    onChange: (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value })),
    error: fieldError?.field === key ? { id: `${key}-error`, message: fieldError.message } : null,
  })
  return { form, setForm, setFieldError, bind }
}
