-- Which instance owns a pending write intent: recovery only takes over intents whose owner is gone.
ALTER TABLE public.write_intents ADD COLUMN IF NOT EXISTS owner_key INTEGER;
