local moontide = require "moontide"
local app = moontide.app {}
local config = nil
local port = config.port
return app
