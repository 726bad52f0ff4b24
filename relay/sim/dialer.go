package sim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ctirelay/ctirelay/relay"
)

// firstItem numbers the dialer's mailing items like the Tactium example (15068).
const firstItem = 15000

// nextDialerLocked schedules the dialer's next connection after from.
func (s *Switch) nextDialerLocked(from time.Time) {
	s.afterLocked(from, interArrival(s.rngDialer, s.cfg.DialerPerMinute), s.dialerLocked)
}

// dialerLocked is the dialer reaching a customer. A predictive dialer paces
// itself to free agents, so with nobody available the attempt is skipped.
func (s *Switch) dialerLocked(at time.Time) {
	s.nextDialerLocked(at)
	s.dialerAttemptLocked(at)
}

func (s *Switch) dialerAttemptLocked(at time.Time) {
	a := s.pickAvailableLocked()
	if a == nil {
		s.stats.DialerIdle++
		return
	}
	s.lastItem++
	item := strconv.FormatInt(firstItem+s.lastItem, 10)
	ddd, phone := brazilianNumber(s.rngDialer)
	attach := fmt.Sprintf("CLI%06d", s.rngDialer.IntN(1_000_000))
	c := s.newCallLocked(Dialer, ddd, phone)
	c.Service, c.item = s.cfg.Campaign, item
	c.dialerInfo = attachInfo(s.cfg.Campaign, item, itemID(s.rngDialer), attach)
	s.stats.Dialer++
	s.connectDialerLocked(a, c, at)
}

// attachInfo is the dialer field Tactium sends with Socket.SendAttachInfo,
// in the document's exact layout.
func attachInfo(campaign, externalID, itemID, attach string) string {
	return "dialer.CampaignName=" + campaign + ";dialer.ExternalID=" + externalID +
		";dialer.ItemID=" + itemID + ";dialer.Description=;dialer.AttachInfo=" + attach +
		";dialer.ExternalData=;"
}

// connectDialerLocked delivers a dialer call as Tactium does: an A event from
// the routing point with the item id and the attach info.
func (s *Switch) connectDialerLocked(a *agent, c *call, at time.Time) {
	c.Frame = relay.ActiveCall{
		Login: a.login, ID: c.item, OriginDDD: "0", Origin: s.cfg.RoutingPoint,
		DestDDD: c.DDD, Dest: c.Phone, ExternalID: c.dialerInfo,
	}.Frame()
	s.connectLocked(a, c, at)
}

// callback is a return call scheduled with TR.
type callback struct {
	agent      string // "" for any agent
	item       string
	ddd, phone string
	dialerInfo string
}

// scheduleCallbackLocked makes the dialer call the customer of c back at
// when, on the alternative phone when one is given.
func (s *Switch) scheduleCallbackLocked(c *call, when time.Time, phone, target string, now time.Time) {
	s.stats.Callbacks++
	cb := &callback{agent: target, item: c.item, ddd: c.DDD, phone: c.Phone, dialerInfo: c.dialerInfo}
	if phone != "" {
		cb.phone = phone
		if len(phone) >= 10 { // carries its own area code
			cb.ddd, cb.phone = phone[:2], phone[2:]
		}
	}
	s.afterLocked(now, max(when.Sub(now), 0), func(at time.Time) {
		var a *agent
		if cb.agent == "" {
			a = s.pickAvailableLocked()
		} else if x := s.agents[cb.agent]; x != nil && x.state == relay.StateAvailable {
			a = x
		}
		if a == nil {
			s.due = append(s.due, cb) // served when a suitable agent becomes available
			return
		}
		s.placeCallbackLocked(a, cb, at)
	})
}

func (s *Switch) placeCallbackLocked(a *agent, cb *callback, at time.Time) {
	s.stats.CallbacksPlaced++
	c := s.newCallLocked(Dialer, cb.ddd, cb.phone)
	c.Service, c.item, c.dialerInfo = s.cfg.Campaign, cb.item, cb.dialerInfo
	s.connectDialerLocked(a, c, at)
}
