DROP TRIGGER IF EXISTS {{prefix}}tti_notify ON {{tti}}
