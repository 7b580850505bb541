package debugz

import (
	"context"
	"errors"

	"github.com/debugz/debugz/internal/redact"
	"github.com/debugz/debugz/internal/view"
)

// redactedChannelz reads channelz for the pages with its text redacted as
// the spans' is: a channel's target and its trace events quote what the
// program dialed ("dns:///db?token=…", "user:pw@host") and what its
// resolver returned.
type redactedChannelz struct {
	c   view.Channelz
	red *redact.Redactor
}

func (r redactedChannelz) Overview(ctx context.Context) (view.ChannelzOverview, error) {
	o, err := r.c.Overview(ctx)
	for i := range o.Servers {
		s := &o.Servers[i]
		for j := range s.Listen {
			s.Listen[j] = r.red.String(s.Listen[j])
		}
	}
	for i := range o.Channels {
		r.channel(&o.Channels[i])
	}
	return o, r.err(err)
}

func (r redactedChannelz) Channel(ctx context.Context, id int64) (view.ChannelzChannel, bool, error) {
	c, ok, err := r.c.Channel(ctx, id)
	r.channel(&c)
	return c, ok, r.err(err)
}

// channel redacts c and its subchannels in place.
func (r redactedChannelz) channel(c *view.ChannelzChannel) {
	c.Target = r.red.String(c.Target)
	for i := range c.Events {
		c.Events[i].Description = r.red.String(c.Events[i].Description)
	}
	for i := range c.Subchannels {
		r.channel(&c.Subchannels[i])
	}
}

// err redacts the text of a failed read, which the page shows.
func (r redactedChannelz) err(err error) error {
	if err == nil {
		return nil
	}
	if msg := r.red.String(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
