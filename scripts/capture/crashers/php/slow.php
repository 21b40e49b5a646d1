<?php
// Holds a child busy so that concurrent requests exhaust pm.max_children.
sleep(3);
echo "done\n";
