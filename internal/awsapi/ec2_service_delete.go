package awsapi

import (
	"errors"

	"strait/internal/control/core"
	"strait/internal/model"
)

// serviceDeleteNotFound rewrites the items of DeleteVpcEndpointServiceConfigurations
// that failed because the service does not exist: AWS reports them with the code
// InvalidVpcEndpointService.NotFound and "The VpcEndpointService Id '…' does not
// exist" (not InvalidVpcEndpointServiceId.NotFound, which other actions use), and
// controllers match that code to treat a repeated delete as done.
func serviceDeleteNotFound(items []UnsuccessfulItem, failed []core.ItemError) []UnsuccessfulItem {
	for i, f := range failed {
		var de *model.Error
		if errors.As(f.Err, &de) && errors.Is(de, model.ErrNotFound) && de.Kind == model.KindService {
			items[i].Error = &UnsuccessfulItemError{Code: "InvalidVpcEndpointService.NotFound",
				Message: "The VpcEndpointService Id '" + f.ID + "' does not exist"}
		}
	}
	return items
}
