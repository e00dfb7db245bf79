-- Version 9: a rate-limited handler's requests are sent by one dispatcher
-- node at a time, in turns (see espf/rate_limits.py). sender: the node whose
-- turn it is (NULL: nobody's); sender_until: when its turn ends unless it
-- claims again (epoch ms).
ALTER TABLE handler_limits ADD COLUMN sender TEXT;
ALTER TABLE handler_limits ADD COLUMN sender_until INTEGER NOT NULL DEFAULT 0;
