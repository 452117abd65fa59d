-- The values a manual trigger gave the job's `input` blocks, as a JSON object; NULL when it gave
-- none (the build's plan then takes the inputs' defaults).
ALTER TABLE builds ADD COLUMN input_values TEXT;
