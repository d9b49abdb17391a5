-- The unpaid-invoices rule (issue 14): when the organisation sets
-- FAMILLE_UNPAID_BLOCK_CENTS, overdue invoices over that amount block new
-- bookings; an agent may lift it for a family.
ALTER TABLE families ADD COLUMN unpaid_block_lifted BOOLEAN NOT NULL DEFAULT FALSE;
