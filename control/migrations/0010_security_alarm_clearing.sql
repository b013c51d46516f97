-- Security alarms are cleared by an administrator with a note (who and why are also in the audit trail).
ALTER TABLE security_alarms ADD COLUMN cleared_by TEXT;
ALTER TABLE security_alarms ADD COLUMN clear_note TEXT;
