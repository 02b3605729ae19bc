//! The endpoints: request body in, JSON answer out.
//!
//! Ticket rules (natlab's model of what the document describes):
//! * app login (`userid`, `passwd`, `devicemd5mac`): a userticket and a userrefreshticket, both
//!   unbound, and the calling device's deviceid and deviceticket;
//! * `/aae/getuserticketbyrefresh`: the refresh ticket must be valid; a non-empty
//!   `devicemd5mac` binds an unbound refresh ticket to that device (its first use) and the new
//!   userticket to it; an empty one (old firmware, step 6) gives an unbound userticket;
//! * `/aae/getuserrefreshticket`: the userticket must be valid (and, when bound, be the calling
//!   device's); the new refresh ticket is unbound until its first use;
//! * firmware login (`cusid`, `userticket`, `devicemd5mac`, and in the new flow
//!   `userrefreshticket`): new firmware needs a userticket bound to its MAC; a refresh ticket
//!   with the `old_` prefix marks old firmware, which may use an unbound userticket. The refresh
//!   ticket is bound to the router. When the router was bound to another account, that
//!   account's tickets bound to the router are revoked (new flow) or only its deviceticket is
//!   (old flow: its userticket is not bound to the router, so the server cannot tell).

use crate::api::{self, OLD_PREFIX, WebStatus, field};
use crate::event::ServerEvent;
use crate::http::{HttpRequest, HttpResponse};
use crate::server::AaeWebServer;
use crate::store::Kind;
use serde_json::{Map, Value, json};
use sim_core::SimInstant;

type Body = Map<String, Value>;
type Reply = Result<Body, WebStatus>;

/// The JSON body of a bare status.
pub(crate) fn status_body(status: WebStatus) -> Value {
    if status == WebStatus::Ok {
        json!({ field::STATUS: 0 })
    } else {
        json!({ field::STATUS: status.value(), field::MESSAGE: status.name() })
    }
}

/// The JSON status a response carries.
pub(crate) fn status_of(r: &HttpResponse) -> Option<WebStatus> {
    r.json_body()
        .and_then(|b| b.get(field::STATUS).and_then(Value::as_u64))
        .and_then(WebStatus::from_value)
}

/// Answers one request.
pub(crate) fn route(s: &mut AaeWebServer, now: SimInstant, req: &HttpRequest) -> HttpResponse {
    let roles = s.config.roles;
    let handler: Option<fn(&mut AaeWebServer, SimInstant, &Body) -> Reply> = match req.path.as_str()
    {
        api::GET_SERVICE_AREA if roles.portal => Some(service_area),
        api::LOGIN if roles.area => Some(login),
        api::GET_USER_TICKET_BY_REFRESH if roles.area => Some(user_ticket_by_refresh),
        api::GET_USER_REFRESH_TICKET if roles.area => Some(user_refresh_ticket),
        api::GET_DEVICE_INFO if roles.unit => Some(device_info),
        _ => None,
    };
    let Some(handler) = handler else {
        return error(WebStatus::NotFound);
    };
    if req.method != "POST" {
        let mut r = error(WebStatus::BadRequest);
        r.status = 405;
        r.reason = "Method Not Allowed".into();
        return r;
    }
    let Ok(Value::Object(body)) = serde_json::from_slice(&req.body) else {
        return error(WebStatus::BadRequest);
    };
    match handler(s, now, &body) {
        Ok(mut out) => {
            out.insert(field::STATUS.into(), json!(0));
            HttpResponse::json(200, &Value::Object(out))
        }
        Err(status) => error(status),
    }
}

fn error(status: WebStatus) -> HttpResponse {
    HttpResponse::json(status.http(), &status_body(status))
}

fn text<'a>(b: &'a Body, key: &str) -> Result<&'a str, WebStatus> {
    b.get(key)
        .and_then(Value::as_str)
        .ok_or(WebStatus::BadRequest)
}

fn non_empty<'a>(b: &'a Body, key: &str) -> Result<&'a str, WebStatus> {
    text(b, key).and_then(|v| {
        if v.is_empty() {
            Err(WebStatus::BadRequest)
        } else {
            Ok(v)
        }
    })
}

fn check_ids(b: &Body) -> Result<(), WebStatus> {
    let known = |key: &str, table: &[&str]| {
        b.get(key)
            .and_then(Value::as_str)
            .is_none_or(|v| table.contains(&v))
    };
    if known(field::SID, api::SIDS) && known(field::DEVICETYPE, api::DEVICE_TYPES) {
        Ok(())
    } else {
        Err(WebStatus::InvalidId)
    }
}

fn service_area(s: &mut AaeWebServer, _now: SimInstant, _b: &Body) -> Reply {
    let area = s
        .config
        .service_area
        .or(s.own)
        .ok_or(WebStatus::Unavailable)?;
    let mut out = Body::new();
    out.insert(field::SERVICEAREA.into(), json!(area.to_string()));
    out.insert(field::AREA.into(), json!(s.config.area_name));
    Ok(out)
}

fn login(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    if s.config.policy.refuse_logins {
        return Err(WebStatus::Unavailable);
    }
    check_ids(b)?;
    if b.contains_key(field::USERID) {
        app_login(s, now, b)
    } else {
        firmware_login(s, now, b)
    }
}

fn app_login(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    let userid = non_empty(b, field::USERID)?;
    let passwd = text(b, field::PASSWD)?;
    let mac = non_empty(b, field::DEVICEMD5MAC)?;
    let cusid = match s.store.accounts.get(userid) {
        Some(a) if a.passwd == passwd => a.cusid.clone(),
        _ => return Err(WebStatus::AuthFailed),
    };
    let userticket = s.store.issue(now, Kind::User, &cusid, None);
    let refresh = s.store.issue(now, Kind::Refresh, &cusid, None);
    let (deviceid, deviceticket) = device_login(s, now, &cusid, mac, false);
    let mut out = Body::new();
    out.insert(field::CUSID.into(), json!(cusid));
    out.insert(field::USERTICKET.into(), json!(userticket));
    out.insert(field::USERREFRESHTICKET.into(), json!(refresh));
    out.insert(field::DEVICEID.into(), json!(deviceid));
    out.insert(field::DEVICETICKET.into(), json!(deviceticket));
    Ok(out)
}

fn firmware_login(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    let cusid = non_empty(b, field::CUSID)?.to_owned();
    let userticket = non_empty(b, field::USERTICKET)?;
    let mac = non_empty(b, field::DEVICEMD5MAC)?.to_owned();
    let refresh = b.get(field::USERREFRESHTICKET).and_then(Value::as_str);
    let ticket = s
        .store
        .check(now, userticket, Kind::User, &cusid, Some(&mac))?;
    let user_bound = ticket.mac.is_some();
    let new_flow = match refresh {
        Some(r) => {
            let (token, old_fw) = match r.strip_prefix(OLD_PREFIX) {
                Some(t) => (t, true),
                None => (r, false),
            };
            s.store
                .check(now, token, Kind::Refresh, &cusid, Some(&mac))?;
            if !old_fw && !user_bound {
                return Err(WebStatus::DeviceMismatch);
            }
            s.store.bind(token, &mac);
            true
        }
        None => false,
    };
    let (deviceid, deviceticket) = device_login(s, now, &cusid, &mac, new_flow);
    let mut out = Body::new();
    out.insert(field::DEVICEID.into(), json!(deviceid));
    out.insert(field::DEVICETICKET.into(), json!(deviceticket));
    Ok(out)
}

/// The device's id and a new deviceticket; re-binds the device when another account had it.
fn device_login(
    s: &mut AaeWebServer,
    now: SimInstant,
    cusid: &str,
    mac: &str,
    new_flow: bool,
) -> (String, String) {
    let (deviceid, previous) = s.store.device(mac, cusid);
    if let Some(previous) = previous {
        let kinds: &[Kind] = if new_flow {
            &[Kind::User, Kind::Refresh, Kind::Device]
        } else {
            &[Kind::Device]
        };
        let revoked = s.store.revoke(&previous, mac, kinds);
        s.events.push_back(ServerEvent::DeviceRebound {
            md5mac: mac.to_owned(),
            from: previous,
            to: cusid.to_owned(),
            revoked,
        });
    } else {
        s.events.push_back(ServerEvent::DeviceBound {
            md5mac: mac.to_owned(),
            cusid: cusid.to_owned(),
            deviceid: deviceid.clone(),
        });
    }
    let ticket = s.store.issue(now, Kind::Device, cusid, Some(mac));
    (deviceid, ticket)
}

fn user_ticket_by_refresh(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    let cusid = non_empty(b, field::CUSID)?.to_owned();
    let refresh = non_empty(b, field::USERREFRESHTICKET)?.to_owned();
    let mac = text(b, field::DEVICEMD5MAC)?.to_owned();
    s.store
        .check(now, &refresh, Kind::Refresh, &cusid, Some(&mac))?;
    s.store.bind(&refresh, &mac);
    let bound = (!mac.is_empty()).then_some(mac.as_str());
    let ticket = s.store.issue(now, Kind::User, &cusid, bound);
    let mut out = Body::new();
    out.insert(field::USERTICKET.into(), json!(ticket));
    Ok(out)
}

fn user_refresh_ticket(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    let cusid = non_empty(b, field::CUSID)?.to_owned();
    let mac = text(b, field::DEVICEMD5MAC)?;
    let userticket = non_empty(b, field::USERTICKET)?;
    s.store
        .check(now, userticket, Kind::User, &cusid, Some(mac))?;
    let ticket = s.store.issue(now, Kind::Refresh, &cusid, None);
    let mut out = Body::new();
    out.insert(field::REFRESHTICKET.into(), json!(ticket));
    Ok(out)
}

fn device_info(s: &mut AaeWebServer, now: SimInstant, b: &Body) -> Reply {
    let deviceid = non_empty(b, field::DEVICEID)?;
    let ticket = non_empty(b, field::DEVICETICKET)?;
    let (mac, owner) = s
        .store
        .devices
        .iter()
        .find(|(_, d)| d.deviceid == deviceid)
        .map(|(m, d)| (m.clone(), d.owner.clone()))
        .ok_or(WebStatus::TicketInvalid)?;
    s.store
        .check(now, ticket, Kind::Device, &owner, Some(&mac))?;
    let mut out = Body::new();
    out.insert(field::CUSID.into(), json!(owner));
    out.insert(field::DEVICEMD5MAC.into(), json!(mac));
    Ok(out)
}
