CREATE OR REPLACE TRIGGER {{prefix}}tti_notify
    AFTER INSERT ON {{tti}}
    FOR EACH STATEMENT EXECUTE FUNCTION {{notify_tti}}()
