//! The helper's reader, [`CommandReader`] (its end of its stdin): it checks a command's length
//! against its bound before reading its payload, and that Start comes first and once.

use std::io::Read;

use super::framed::Framed;
use super::wire::{self, Decoder};
use super::{Command, Peer, ProtocolError};

/// The helper's reader of its stdin.
pub struct CommandReader<R> {
    framed: Framed<R>,
    started: bool,
}

impl<R: Read> CommandReader<R> {
    pub fn new(from_server: R) -> Self {
        Self {
            framed: Framed::new(from_server, Peer::Server),
            started: false,
        }
    }

    /// The next command; [`ProtocolError::Closed`] when the server closed the pipe between
    /// commands (treat it as Stop).
    pub fn read_command(&mut self) -> Result<Command, ProtocolError> {
        let peer = Peer::Server;
        let (code, len) = self.framed.header()?;
        let bounds = wire::command_bounds(code).ok_or(ProtocolError::UnknownType { peer, code })?;
        wire::check_len(peer, code, len, bounds)?;
        if (code == wire::START) == self.started {
            let reason = if self.started {
                "a second Start"
            } else {
                "before Start"
            };
            return Err(ProtocolError::Invalid {
                peer,
                what: wire::name(code),
                reason: format!("out of order: {reason}"),
            });
        }
        let payload = self.framed.payload(len, wire::name(code))?;
        let mut d = Decoder::new(&payload, peer, code);
        let command = match code {
            wire::START => Command::Start {
                settings_json: d.json("settings")?,
            },
            wire::DEMAND => match d.u8("wanted")? {
                0 => Command::Demand { wanted: false },
                1 => Command::Demand { wanted: true },
                v => return Err(d.invalid(format!("wanted is {v}, not 0 or 1"))),
            },
            wire::STOP => Command::Stop,
            wire::STILL => Command::Still { id: d.u32("id")? },
            wire::SET_CONTROLS => Command::SetControls {
                id: d.u32("id")?,
                json: d.json("json")?,
            },
            wire::LIST_CONTROLS => Command::ListControls { id: d.u32("id")? },
            _ => unreachable!("command_bounds knows only these types"),
        };
        d.finish()?;
        self.started = true;
        Ok(command)
    }
}
