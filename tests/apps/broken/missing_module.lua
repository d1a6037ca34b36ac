local moontide = require "moontide"
local nope = require "no.such.module"
return moontide.app {}
